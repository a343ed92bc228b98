"""The released checkpoints depthforge can load by name (records only; nothing is fetched here)."""

from __future__ import annotations

from depthforge.models.pretrained.record import PaperResult, PretrainedWeights
from depthforge.types import OutputSpace

SPARSE_TO_DENSE_RESULTS = "http://datasets.lids.mit.edu/sparse-to-dense.pytorch/results/"
SPARSE_TO_DENSE_PAPER = (
    "Ma & Karaman 2018 (ICRA), Sparse-to-Dense: Depth Prediction from Sparse Depth Samples "
    "and a Single Image"
)
SPARSE_TO_DENSE_NOTES = (
    "The authors' PyTorch release (fangchangma/sparse-to-dense.pytorch, ResNet-50, decoder "
    "upproj, L1 loss); the paper's numbers were measured with their earlier Torch "
    "implementation. The file name is the training script's name for the results folder of "
    "these settings (batch size 16 assumed) and is not confirmed against the results page: if "
    "the download fails, fetch the file from that page by hand and convert it. Input: 228×304 "
    "RGB in [0, 1] (their NYU frames are resized to 240×320 and centre-cropped)."
)


def sparse_to_dense_nyu(modality: str, samples: int, metrics: dict[str, float], note: str):
    """The record of the NYU release for ``modality`` with ``samples`` sparse samples."""
    folder = (
        f"nyudepthv2.sparsifier=uar.samples={samples}.modality={modality}.arch=resnet50."
        "decoder=upproj.criterion=l1.lr=0.01.bs=16.pretrained=True"
    )
    suffix = f"_{samples}" if samples else ""
    return PretrainedWeights(
        name=f"sparse_to_dense_nyu_{modality}{suffix}",
        model="sparse_to_dense_resnet50",
        config={"modality": modality},
        urls=(f"{SPARSE_TO_DENSE_RESULTS}{folder}.pth.tar",),
        file_name=f"sparse_to_dense_nyu_{modality}{suffix}.pth.tar",
        release_format="sparse_to_dense_pth_tar",
        paper=SPARSE_TO_DENSE_PAPER,
        training_data=(
            "NYU Depth v2 raw training scenes (249 scenes, ~48k frames sampled evenly)"
            + (
                f", {samples} depth samples per frame drawn uniformly from the GT"
                if samples
                else ""
            )
        ),
        output_space=OutputSpace.METRIC_DEPTH,
        licence="no licence stated",
        commercial_use=False,
        results=(
            PaperResult(
                protocol="nyu_sparse_to_dense",
                metrics=metrics,
                source="Ma & Karaman 2018, Table II (NYU Depth v2), " + note,
            ),
        ),
        notes=SPARSE_TO_DENSE_NOTES,
    )


_RECORDS: tuple[PretrainedWeights, ...] = (
    sparse_to_dense_nyu(
        "rgb",
        0,
        {"rmse": 0.514, "abs_rel": 0.143, "d1": 0.810, "d2": 0.959, "d3": 0.989},
        "Ours-RGB",
    ),
    sparse_to_dense_nyu(
        "rgbd",
        200,
        {"rmse": 0.230, "abs_rel": 0.044, "d1": 0.971, "d2": 0.994, "d3": 0.998},
        "Ours-200 (the authors report rmse 0.237, rel 0.048, δ1 0.970 for this PyTorch file)",
    ),
)

PRETRAINED: dict[str, PretrainedWeights] = {record.name: record for record in _RECORDS}
