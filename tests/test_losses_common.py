"""Behaviour every loss shares: all-invalid batches and float32 under autocast."""

from __future__ import annotations

import warnings

import pytest
import torch

from depthforge import losses as L

B, H, W = 2, 4, 6


def _inputs(valid: bool):
    generator = torch.Generator().manual_seed(0)
    gt = 1.0 + torch.rand(B, 1, H, W, generator=generator)
    pred = (1.0 + torch.rand(B, 1, H, W, generator=generator)).requires_grad_(True)
    mask = torch.full((B, 1, H, W), valid)
    pairs = torch.tensor([[0, 0, 1, 1], [2, 3, 3, 5]]).expand(B, 2, 4)
    relations = torch.tensor([[1, -1]]).expand(B, 2)
    pair_mask = torch.full((B, 2), valid)
    image = torch.rand(B, 3, H, W, generator=generator)
    return pred, gt, mask, pairs, relations, pair_mask, image


MASKED = {
    "scale_invariant": lambda p, g, m, *_: L.scale_invariant_loss(p, g, m, input_space="depth"),
    "eigen_gradient": lambda p, g, m, *_: L.eigen_gradient_loss(p, g, m),
    "bts_silog": lambda p, g, m, *_: L.bts_silog_loss(p, g, m),
    "adabins_silog": lambda p, g, m, *_: L.adabins_silog_loss(p, g, m),
    "berhu": lambda p, g, m, *_: L.berhu_loss(p, g, m),
    "megadepth_gradient": lambda p, g, m, *_: L.megadepth_gradient_loss(p, g, m),
    "megadepth": lambda p, g, m, pairs, r, pm, _: L.megadepth_loss(
        p, g, m, pairs, r, pm, euclidean=m.flatten(1).all(1)
    ),
    "megadepth_ordinal": lambda p, g, m, pairs, r, pm, _: L.megadepth_ordinal_loss(p, pairs, r, pm),
    "ssi": lambda p, g, m, *_: L.scale_and_shift_invariant_loss(p, g, m),
    "robust_ssi": lambda p, g, m, *_: L.robust_scale_and_shift_invariant_loss(p, g, m),
    "sparse_inverse_depth": lambda p, g, m, *_: L.sparse_inverse_depth_loss(p, g, m),
    "ranking": lambda p, g, m, pairs, r, pm, _: L.ranking_loss(p, pairs, r, pm),
    "sampled_ranking": lambda p, g, m, pairs, r, pm, _: L.sampled_ranking_loss(p, pairs, r, pm, pm),
    "set": lambda p, g, m, *_: L.set_loss([p, 2 * p], g, m, consistency_mask=m),
}

UNMASKED = {
    "ssim": lambda p, g, m, pairs, r, pm, image: L.ssim_dissimilarity(image, image.flip(-1)).mean(),
    "photometric": lambda p, g, m, pairs, r, pm, image: L.photometric_error(
        image, image.flip(-1)
    ).mean(),
    "smoothness": lambda p, g, m, pairs, r, pm, image: L.edge_aware_smoothness(p, image),
    "stereo_alignment": lambda p, g, m, pairs, r, pm, image: L.stereo_alignment_loss(
        image, image.flip(-1), p
    ),
    "xian": lambda p, g, m, pairs, r, pm, image: L.xian_ranking_loss(
        p, g, image, m, generator=torch.Generator().manual_seed(0)
    ),
}


@pytest.mark.parametrize("name", sorted(MASKED))
def test_all_invalid_batch_gives_zero_with_a_warning_and_a_graph(name):
    pred, *rest = _inputs(valid=False)
    with pytest.warns(UserWarning, match="no valid"):
        loss = MASKED[name](pred, *rest)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(pred.grad).all() and (pred.grad == 0).all()


@pytest.mark.parametrize("name", sorted({**MASKED, **UNMASKED}))
def test_float32_under_bfloat16_autocast(name):
    fn = {**MASKED, **UNMASKED}[name]
    pred, gt, mask, pairs, relations, pair_mask, image = _inputs(valid=True)
    low = (pred.detach().bfloat16(), gt.bfloat16(), image.bfloat16())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference = fn(
            low[0].float(), low[1].float(), mask, pairs, relations, pair_mask, low[2].float()
        )
        with torch.autocast("cpu", dtype=torch.bfloat16):
            value = fn(low[0], low[1], mask, pairs, relations, pair_mask, low[2])
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(reference.item(), rel=1e-6)
