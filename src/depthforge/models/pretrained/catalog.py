"""The released checkpoints depthforge knows, by pretrained name: ``PRETRAINED[name]``.

Each record is data (:class:`~depthforge.models.pretrained.record.PretrainedWeights`); nothing is
downloaded here. Paper numbers are copied only where the release's own README prints them (the
source field says where); other columns are left out rather than recalled.
"""

from __future__ import annotations

import re

from depthforge.models.pretrained.record import PaperResult, PretrainedWeights
from depthforge.types import OutputSpace

FCRN_URL = "http://campar.in.tum.de/files/rupprecht/depthpred/NYU_ResNet-UpProj.npy"
MONODEPTH2_URL = "https://storage.googleapis.com/niantic-lon-static/research/monodepth2/{}.zip"
MONODEPTH2_PAPER = (
    "Godard, Mac Aodha, Firman & Brostow 2019, Digging Into Self-Supervised Monocular Depth "
    "Estimation (ICCV)"
)
MONODEPTH2_LICENCE = "Niantic monodepth2 licence (non-commercial use only)"
STEREO_SCALE = 5.4
"""monodepth2 ``evaluate_depth.py::STEREO_SCALE_FACTOR``: metres per unit of its stereo models."""

MONODEPTH2_RELEASES = {
    # zip name: (md5 from monodepth2 utils.py, training, README AbsRel, README δ<1.25)
    "mono_640x192": ("a964b8356e08a02d009609d9e3928f7c", "mono", 0.115, 0.877),
    "stereo_640x192": ("3dfb76bcff0786e4ec07ac00f658dd07", "stereo", 0.109, 0.864),
    "mono+stereo_640x192": ("c024d69012485ed05d7eaa9617a96b81", "mono+stereo", 0.106, 0.874),
    "mono_1024x320": ("0ab0766efdfeea89a0d9ea8ba90e1e63", "mono", 0.115, 0.879),
    "stereo_1024x320": ("afc2f2126d70cf3fdf26b550898b501a", "stereo", 0.107, 0.874),
    "mono+stereo_1024x320": ("cdc5fc9b23513c07d5b19235d9ef08f7", "mono+stereo", 0.106, 0.876),
}
TRAINING = {
    kind: f"KITTI raw, eigen_zhou training split, {how} (ImageNet-pretrained encoder)"
    for kind, how in (
        ("mono", "monocular video"),
        ("stereo", "stereo pairs"),
        ("mono+stereo", "stereo video"),
    )
}


def monodepth2_record(release: str) -> PretrainedWeights:
    """The record of one monodepth2 zip (``mono_640x192`` → pretrained name ``monodepth2_mono_640x192``)."""
    md5, training, abs_rel, d1 = MONODEPTH2_RELEASES[release]
    width, height = (int(v) for v in release.rsplit("_", 1)[1].split("x"))
    metric = "stereo" in training
    return PretrainedWeights(
        name="monodepth2_" + release.replace("+", "_"),
        model="monodepth2_resnet18",
        config={"input_size": (height, width)} | ({"metric_scale": STEREO_SCALE} if metric else {}),
        urls=(MONODEPTH2_URL.format(release.replace("+", "%2B")),),
        file_name=f"monodepth2_{release}.zip",
        md5=md5,
        release_format="monodepth2_zip",
        paper=MONODEPTH2_PAPER,
        training_data=TRAINING[training],
        output_space=OutputSpace.METRIC_DEPTH if metric else OutputSpace.SCALE_INVARIANT_DEPTH,
        licence=MONODEPTH2_LICENCE,
        commercial_use=False,
        metric_scale=STEREO_SCALE if metric else None,
        size_mb=99.0,  # README: mono+stereo_640x192; every zip holds the same four networks
        results=(
            PaperResult(
                protocol="kitti_eigen",
                metrics={"abs_rel": abs_rel, "d1": d1},
                source="monodepth2 README results table (paper Table 1), cap 80 m",
                align=None if metric else "median",
            ),
        ),
        notes=(
            f"input resized to {width}×{height}; "
            + (
                "depth ×5.4 gives metres (stereo baseline)"
                if metric
                else "scale from median scaling"
            )
        ),
    )


RECORDS: tuple[PretrainedWeights, ...] = (
    PretrainedWeights(
        name="fcrn_nyu",
        model="fcrn_resnet50_tf",
        urls=(FCRN_URL,),
        file_name="NYU_ResNet-UpProj.npy",
        release_format="fcrn_tf_npy",
        paper=(
            "Laina, Rupprecht, Belagiannis, Tombari & Navab 2016, Deeper Depth Prediction with "
            "Fully Convolutional Residual Networks (3DV)"
        ),
        training_data="NYU Depth v2 raw, 249 training scenes (~12k frames)",
        output_space=OutputSpace.METRIC_DEPTH,
        licence="Simplified BSD",
        commercial_use=True,
        size_mb=255.0,  # 63,633,665 float32 values (parameters and BN statistics)
        results=(
            PaperResult(
                protocol="nyu_fcrn",
                metrics={"abs_rel": 0.127, "rmse": 0.573, "log10": 0.055},
                source="FCRN-DepthPrediction README (paper Table 2, ResNet-UpProj)",
            ),
        ),
        notes="input resized to 304×228 RGB in 0–255; output 160×128 metres",
    ),
    *(monodepth2_record(release) for release in MONODEPTH2_RELEASES),
)

PRETRAINED: dict[str, PretrainedWeights] = {record.name: record for record in RECORDS}
"""Pretrained name → record."""


def short_citation(paper: str) -> str:
    """``"Laina, Rupprecht, … 2016, Deeper …"`` → ``"Laina et al. 2016"``."""
    year = re.search(r"\b(19|20)\d\d\b", paper)
    return paper.split(",")[0].split(" ")[0] + " et al." + (f" {year[0]}" if year else "")


def catalog_markdown() -> str:
    """The README's table of pretrained models, generated from ``PRETRAINED`` (a test keeps the
    README in step)."""
    lines = [
        "| name | paper | training data | output space | licence | paper numbers |",
        "|---|---|---|---|---|---|",
    ]
    for r in PRETRAINED.values():
        space = r.output_space.value + (
            f" (×{r.metric_scale:g} to metres)" if r.metric_scale else ""
        )
        licence = r.licence if r.commercial_use else f"**{r.licence}**"
        numbers = "; ".join(
            f"`{p.protocol}`{f' ({p.align} scaling)' if p.align else ''}: "
            + ", ".join(f"{k} {v:g}" for k, v in p.metrics.items())
            for p in r.results
        )
        lines.append(
            f"| `{r.name}` | {short_citation(r.paper)} | {r.training_data} | {space} | {licence} | {numbers} |"
        )
    return "\n".join(lines) + "\n"
