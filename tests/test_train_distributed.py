"""Two CPU processes with gloo train exactly as one process with the same global batch."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from depthforge.train.config import LoopConfig, OptimConfig
from depthforge.train.trainer import Trainer
from tests.test_train_engine import ToyDepth, masked_l1

STEPS = 4


def deterministic_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 1))


def run(out_dir: str) -> tuple[list[float], dict[str, torch.Tensor]]:
    loop = LoopConfig(
        steps=STEPS, batch_size=4, log_every=1, val_every=10**9, ckpt_every=10**9, device="cpu"
    )
    trainer = Trainer(
        deterministic_model(),
        masked_l1,
        ToyDepth(),
        out_dir,
        loop=loop,
        optim=OptimConfig(lr=1e-2),
        seed=5,
    )
    result = trainer.fit()
    return result.losses, {k: v.clone() for k, v in trainer.bare_model.state_dict().items()}


def worker(rank: int, world: int, init_file: str, out_dir: str, results) -> None:
    os.environ["WORLD_SIZE"] = str(world)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        results[rank] = run(out_dir)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_match_one_process(tmp_path):
    single_losses, single_weights = run(str(tmp_path / "single"))
    manager = mp.Manager()
    results = manager.dict()
    mp.spawn(
        worker,
        args=(2, str(tmp_path / "init"), str(tmp_path / "ddp"), results),
        nprocs=2,
        join=True,
    )
    for rank in range(2):
        losses, weights = results[rank]
        torch.testing.assert_close(
            torch.tensor(losses), torch.tensor(single_losses), rtol=1e-5, atol=1e-6
        )
        for name, value in single_weights.items():
            torch.testing.assert_close(weights[name], value, rtol=1e-5, atol=1e-6)
    assert single_losses[0] != single_losses[-1]
