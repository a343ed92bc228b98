"""The released checkpoints depthforge knows, by pretrained name: ``PRETRAINED[name]``.

Each record is data (:class:`~depthforge.models.pretrained.record.PretrainedWeights`); nothing is
downloaded here. Paper numbers are those printed by the named source (the release's README or the
paper's table); where they were taken from memory of the paper and not re-read from its table,
``notes`` says so.
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


SPARSE_TO_DENSE_RECORDS: tuple[PretrainedWeights, ...] = (
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

MEGADEPTH_MODELS = "http://www.cs.cornell.edu/projects/megadepth/dataset/models/"
MEGADEPTH_PAPER = "Li & Snavely 2018, MegaDepth: Learning Single-View Depth Prediction from Internet Photos (CVPR)"
DIW_ARCHIVE = (
    "https://vl-lab.eecs.umich.edu/data/nips2016/hourglass3.tar.gz",
    "https://drive.google.com/uc?export=download&id=0B02I7-1fYj-cc3RxQ1dvV29tZ0k",
)
DIW_PAPER = "Chen, Fu, Yang & Deng 2016, Single-Image Depth Perception in the Wild (NIPS)"
DIW_NOTES = (
    "One model of the authors' hourglass3.tar.gz (with the other three; the archive is downloaded "
    "once). Input 240×320 RGB in [0, 1]; output relative depth, larger = farther, defined only up "
    "to a monotone transform."
)
UNVERIFIED = "Paper numbers recalled, not re-read from the table: check them before citing."


def diw_record(
    name: str,
    release_format: str,
    training_data: str,
    model_note: str,
    whdr: tuple[float, str] | None = None,
) -> PretrainedWeights:
    """One model of DIW's ``hourglass3.tar.gz``; ``whdr``: the paper's (value, table cell) on
    the DIW test set, recalled (the notes say so)."""
    results = () if whdr is None else (PaperResult("diw", {"whdr": whdr[0]}, whdr[1]),)
    return PretrainedWeights(
        name=name,
        model="diw_hourglass",
        urls=DIW_ARCHIVE,
        file_name="hourglass3.tar.gz",
        release_format=release_format,
        paper=DIW_PAPER,
        training_data=training_data,
        output_space=OutputSpace.ORDINAL,
        licence="BSD-3-Clause",
        commercial_use=True,
        results=results,
        notes=model_note + DIW_NOTES + ("" if whdr is None else " " + UNVERIFIED),
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
    PretrainedWeights(
        name="megadepth",
        model="megadepth_hourglass",
        urls=(MEGADEPTH_MODELS + "best_generalization_net_G.pth",),
        file_name="best_generalization_net_G.pth",
        release_format="megadepth_pth",
        paper=MEGADEPTH_PAPER,
        training_data="MegaDepth v1 (Internet photo collections: MVS depth and ordinal labels), "
        "starting from DIW-trained weights",
        output_space=OutputSpace.SCALE_INVARIANT_DEPTH,
        licence="MIT",
        commercial_use=True,
        size_mb=21.5,
        notes="The authors' general-purpose model (their README: trained on top of DIW weights, "
        "may perform better than the paper's model; compare against megadepth_vanilla). "
        "Demo input 384×512; the network outputs log depth up to scale: resize it in log depth.",
    ),
    PretrainedWeights(
        name="megadepth_vanilla",
        model="megadepth_hourglass",
        urls=(MEGADEPTH_MODELS + "best_vanila_net_G.pth",),
        file_name="best_vanila_net_G.pth",
        release_format="megadepth_pth",
        paper=MEGADEPTH_PAPER,
        training_data="MegaDepth v1 (Internet photo collections: MVS depth and ordinal labels)",
        output_space=OutputSpace.SCALE_INVARIANT_DEPTH,
        licence="MIT",
        commercial_use=True,
        size_mb=21.5,
        notes="The model of the paper's MegaDepth test-split evaluation (SI-RMSE, SDR; no "
        "depthforge protocol yet). Output log depth up to scale: resize it in log depth.",
    ),
    PretrainedWeights(
        name="sfmlearner_kitti",
        model="sfmlearner_dispnet",
        urls=(
            "https://github.com/ClementPinard/SfmLearner-Pytorch/raw/master/weights/"
            "dispnet_model_best.pth.tar",
        ),
        file_name="dispnet_model_best.pth.tar",
        # sha256 and size from the repository's Git LFS pointer of the file.
        sha256="b497c19a05df01b287c7d6be534acee7f99560343506044705363b7c630cf2cb",
        release_format="sfmlearner_pth",
        paper="Zhou, Brown, Snavely & Lowe 2017, Unsupervised Learning of Depth and Ego-Motion "
        "from Video (CVPR); PyTorch port by C. Pinard",
        training_data="KITTI raw, Eigen split training scenes, monocular 5-frame snippets",
        output_space=OutputSpace.SCALE_INVARIANT_DEPTH,
        licence="MIT",
        commercial_use=True,
        size_mb=126.4,
        results=(
            PaperResult(
                protocol="kitti_eigen",
                metrics={
                    "abs_rel": 0.181,
                    "sq_rel": 1.341,
                    "rmse": 6.236,
                    "rmse_log": 0.262,
                    "d1": 0.733,
                    "d2": 0.901,
                    "d3": 0.964,
                },  # fmt: skip
                source="SfmLearner-Pytorch README, 'Depth Results' (this checkpoint)",
                align="median",
            ),
        ),
        notes="The PyTorch port's checkpoint, not the TensorFlow original of the paper (whose "
        "Table 1 reports abs_rel 0.208 for KITTI-only training; recalled, check before citing). "
        "Input 128×416; disparity = 10·sigmoid + 0.01, depth up to scale: median-scale it; "
        "resize predictions as disparity.",
    ),
    PretrainedWeights(
        name="ddvo_kitti",
        model="ddvo_vgg",
        urls=("https://drive.google.com/uc?export=download&id=1SJWLfA7kqpERj_U2gYXl7Vuy1eQyOO_K",),
        file_name="ddvo_posenet_ddvo_cs_k.pth",
        release_format="ddvo_pth",
        paper="Wang, Buenaposada, Zhu & Lucey 2018, Learning Depth from Monocular Videos using "
        "Direct Methods (CVPR)",
        training_data="Cityscapes, then KITTI raw (Eigen split training scenes), monocular video",
        output_space=OutputSpace.SCALE_INVARIANT_DEPTH,
        licence="BSD-3-Clause",
        commercial_use=True,
        size_mb=112.4,
        results=(
            PaperResult(
                protocol="kitti_eigen",
                metrics={
                    "abs_rel": 0.148,
                    "sq_rel": 1.187,
                    "rmse": 5.496,
                    "rmse_log": 0.226,
                    "d1": 0.812,
                    "d2": 0.938,
                    "d3": 0.975,
                },  # fmt: skip
                source="Table 1, PoseNet+DDVO (CS+K)",
                align="median",
            ),
        ),
        notes="The authors' 'Posenet-DDVO(CS+K)' depth network (Google Drive; the file name in "
        "the cache is ours). Input 128×416; inverse depth = 10·sigmoid + 0.01, depth up to "
        "scale: median-scale it; resize predictions as disparity. " + UNVERIFIED,
    ),
    diw_record(
        "diw_hourglass_diw",
        "diw_tgz_diw",
        "DIW training set (relative depth of one point pair per image), from scratch",
        "The paper's 'Ours_DIW' (AMT_from_scratch_1e-4_release/Best_model_period1.t7). ",
        whdr=(0.2214, "Table 2, Ours_DIW"),
    ),
    diw_record(
        "diw_hourglass_nyu_diw",
        "diw_tgz_nyu_diw",
        "NYU Depth v2 relative depth (full training set), fine-tuned on DIW",
        "The paper's 'Ours_NYU_DIW' (AMT_from_205315_1e-4_release/Best_model_period2.t7). ",
        whdr=(0.1439, "Table 2, Ours_NYU_DIW"),
    ),
    diw_record(
        "diw_hourglass_nyu",
        "diw_tgz_nyu_full",
        "NYU Depth v2 relative depth, full training set (point pairs from the depth)",
        "The paper's 'Ours_Full' (1e-3_Drop_205315_NYU_fs_c9/Best_model_period1.t7), "
        "evaluated by the paper on NYU with WKDR (no depthforge protocol). ",
    ),
    *SPARSE_TO_DENSE_RECORDS,
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
