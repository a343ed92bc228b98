"""Camera-trajectory evaluation: readers, pose composition, ATE (two protocols) and RPE.

Conventions (held by every function here):

* a **trajectory** is ``(N, 4, 4)`` float64 camera-to-world transforms ``C_i = T_world_cam_i``
  (metres; for KITTI the world is the first camera, x right, y down, z forward);
* a **relative pose** ``T_{i←i−1} = C_i⁻¹ C_{i−1}`` takes points from camera ``i−1`` into camera
  ``i``: what :class:`~depthforge.models.posenet.PoseNet` predicts for the frame pair
  ``(i−1, i)`` in temporal order (monodepth2's ``cam_T_cam`` for a later source frame; through
  :func:`depthforge.geometry.se3.pose_vec_to_matrix` without ``invert``).

Protocols:

* ``snippets``: SfMLearner's 5-frame ATE as monodepth2's ``evaluate_pose.py`` computes it
  (Zhou et al. 2017, Table 3; Godard et al. 2019 reuse it), reproduced *with its quirks* so that
  numbers compare with the published tables — see :func:`snippet_ate`.
* ``full``: the TUM RGB-D benchmark's ATE (Sturm et al. 2012, ``evaluate_ate.py``): align the
  whole predicted trajectory to the ground truth (Umeyama 1991; ``se3`` as TUM does, or ``sim3``
  for monocular predictions whose scale is unknown), then the RMSE of the position errors; and the
  TUM relative pose error (``evaluate_rpe.py --fixed_delta --delta_unit f``) over a frame step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from rich.table import Table

from depthforge.data.tum import associate, poses_from_tum, read_tum_list
from depthforge.errors import DataError, UnknownNameError
from depthforge.geometry.se3 import pose_vec_to_matrix
from depthforge.io.image import read_rgb, write_atomic
from depthforge.io.structured import load_npy
from depthforge.models.posenet import PoseNet
from depthforge.models.predict import resize
from depthforge.types import image_to_tensor

TrajectoryFormat = Literal["kitti", "tum"]
PoseProtocol = Literal["snippets", "full"]
TrajectoryAlignment = Literal["sim3", "se3", "none"]

SNIPPET_LENGTH = 5
"""Frames per snippet in the SfMLearner / monodepth2 KITTI odometry protocol (``track_length``)."""
KITTI_COLUMNS = 12
TUM_COLUMNS = 8


@dataclass(frozen=True)
class Trajectory:
    """A camera trajectory.

    Attributes:
        poses: ``(N, 4, 4)`` float64 camera-to-world transforms (metres).
        timestamps: ``(N,)`` seconds (TUM), or ``None`` (KITTI: frames are matched by index).
        path: the file it was read from, if any.
    """

    poses: np.ndarray
    timestamps: np.ndarray | None = None
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.poses)

    @property
    def positions(self) -> np.ndarray:
        """``(N, 3)`` camera centres in the world frame."""
        return self.poses[:, :3, 3]


# ----------------------------------------------------------------------------------------- readers


def _check_poses(path: Path, poses: np.ndarray) -> np.ndarray:
    if len(poses) == 0:
        raise DataError(path, "holds no pose")
    if not np.isfinite(poses).all():
        raise DataError(path, "holds a non-finite pose value (nan or inf)")
    return poses


def read_kitti_poses(path: str | Path) -> Trajectory:
    """KITTI odometry ``poses/XX.txt``: one pose per line, 12 floats = row-major 3×4 ``[R|t]``
    camera-to-world (left camera; world = first camera frame).

    Raises:
        DataError: missing file, a line without 12 numbers, non-finite values.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    for number, fields in enumerate(rows, start=1):
        if len(fields) != KITTI_COLUMNS:
            raise DataError(
                path,
                f"line {number}: expected {KITTI_COLUMNS} numbers (a row-major 3×4 pose), got "
                f"{len(fields)}",
            )
    try:
        values = np.asarray(rows, dtype=np.float64).reshape(-1, 3, 4)
    except ValueError as exc:
        raise DataError(path, f"pose values must be numbers ({exc})") from None
    poses = np.tile(np.eye(4), (len(values), 1, 1))
    poses[:, :3, :] = values
    return Trajectory(_check_poses(path, poses), None, path)


def read_tum_trajectory(path: str | Path) -> Trajectory:
    """TUM RGB-D ``groundtruth.txt`` format: ``timestamp tx ty tz qx qy qz qw`` per line
    (camera-to-world, metres, Hamilton quaternion); ``#`` comments are skipped.

    Raises:
        DataError: missing file, a line without 8 columns, non-numeric or zero-norm values.
    """
    path = Path(path)
    times, rows = read_tum_list(path, TUM_COLUMNS)
    try:
        values = np.asarray([row[1:] for row in rows], dtype=np.float64).reshape(-1, 7)
    except ValueError as exc:
        raise DataError(path, f"pose values must be numbers ({exc})") from None
    try:
        poses = poses_from_tum(values[:, :3], values[:, 3:])
    except ValueError as exc:
        raise DataError(path, str(exc)) from None
    return Trajectory(_check_poses(path, poses), times, path)


def read_trajectory(path: str | Path, format: TrajectoryFormat | None = None) -> Trajectory:
    """Read a trajectory file; ``format=None`` tells KITTI (12 columns) from TUM (8) by the first
    data line."""
    path = Path(path)
    if format is None:
        if not path.is_file():
            raise DataError(path, "file not found")
        first = next(
            (ln.split() for ln in path.read_text().splitlines() if ln.strip() and ln[0] != "#"), []
        )
        guesses = {KITTI_COLUMNS: "kitti", TUM_COLUMNS: "tum"}
        if len(first) not in guesses:
            raise DataError(
                path,
                f"cannot tell the format: the first pose line has {len(first)} columns (KITTI "
                f"has {KITTI_COLUMNS}, TUM {TUM_COLUMNS}); pass the format explicitly",
            )
        format = guesses[len(first)]
    if format == "kitti":
        return read_kitti_poses(path)
    if format == "tum":
        return read_tum_trajectory(path)
    raise DataError(None, f"unknown trajectory format {format!r}: expected kitti or tum")


def read_relative_poses(path: str | Path) -> np.ndarray:
    """``(N−1, 4, 4)`` relative poses ``T_{i←i−1}`` saved as ``.npy`` (monodepth2's
    ``evaluate_pose.py`` writes its predictions this way, as ``poses.npy``)."""
    path = Path(path)
    relative = load_npy(path).astype(np.float64)
    if relative.ndim != 3 or relative.shape[1:] != (4, 4):
        raise DataError(path, f"expected (N, 4, 4) relative poses, got shape {relative.shape}")
    return _check_poses(path, relative)


# ---------------------------------------------------------------------------- pose composition


def relative_poses(poses: np.ndarray) -> np.ndarray:
    """``(N, 4, 4)`` camera-to-world → ``(N−1, 4, 4)`` relative poses ``T_{i←i−1} = C_i⁻¹ C_{i−1}``."""
    return np.linalg.inv(poses[1:]) @ poses[:-1]


def compose_relative(relative: np.ndarray) -> np.ndarray:
    """``(N−1, 4, 4)`` relative poses ``T_{i←i−1}`` → ``(N, 4, 4)`` camera-to-world with ``C_0 = I``.

    ``C_i = C_{i−1} T_{i←i−1}⁻¹``, i.e. the prefix products of the inverses, computed as a
    parallel prefix scan (⌈log₂ N⌉ batched matrix products; no loop over frames).
    """
    if relative.ndim != 3 or relative.shape[1:] != (4, 4):
        raise ValueError(f"relative must be (N, 4, 4), got {relative.shape}")
    steps = np.concatenate([np.eye(4)[None], np.linalg.inv(relative)])
    shift = 1
    while shift < len(steps):  # Hillis–Steele scan: steps[i] becomes steps[0] ⋯ steps[i]
        steps[shift:] = steps[:-shift] @ steps[shift:]
        shift *= 2
    return steps


def relative_from_pose_vectors(pose_vectors: torch.Tensor) -> np.ndarray:
    """PoseNet outputs ``(N−1, 6)`` for the consecutive pairs ``(i−1, i)`` → ``(N−1, 4, 4)``
    float64 ``T_{i←i−1}`` (axis-angle + translation, :func:`pose_vec_to_matrix`)."""
    if pose_vectors.ndim != 2 or pose_vectors.shape[1] != 6:
        raise ValueError(f"pose_vectors must be (N, 6), got {tuple(pose_vectors.shape)}")
    return pose_vec_to_matrix(pose_vectors.detach().double().cpu()).numpy()


@torch.no_grad()
def predict_trajectory(
    pose_model: PoseNet, frames: Sequence[str | Path], batch_size: int = 8
) -> Trajectory:
    """Run a two-frame :class:`PoseNet` over consecutive frames and compose its trajectory.

    Each pair ``(i−1, i)`` in the given order is resized to the model's ``input_size``
    (:func:`~depthforge.models.predict.resize`) and fed in temporal order, as
    :class:`~depthforge.train.strategies.monocular.MonocularVideo` trains it; the outputs are
    ``T_{i←i−1}`` (:func:`relative_from_pose_vectors`), composed by :func:`compose_relative`.
    Frames are read ``batch_size + 1`` at a time. The scale is the network's own (monocular:
    evaluate with ``snippets`` or ``full`` + ``sim3``).

    Args:
        pose_model: a PoseNet with ``num_frames == 2`` (e.g. ``out_dir/pose_model`` of a
            monocular run, loaded with :func:`~depthforge.models.io.load_model`).
        frames: ``N ≥ 2`` image files in temporal order.

    Returns:
        ``(N, 4, 4)`` camera-to-world poses, ``C_0 = I``, without timestamps.
    """
    if not isinstance(pose_model, PoseNet) or pose_model.config.num_frames != 2:
        raise DataError(None, "predict_trajectory needs a two-frame PoseNet (posenet)")
    if len(frames) < 2:
        raise DataError(None, f"a trajectory needs at least 2 frames, got {len(frames)}")
    pose_model.eval()
    device = next(pose_model.parameters()).device
    size = tuple(pose_model.config.input_size)

    def load(path: str | Path) -> torch.Tensor:
        image = image_to_tensor(read_rgb(path))[None]
        return resize(image.to(device), size)

    vectors = []
    for start in range(1, len(frames), batch_size):
        chunk = torch.cat([load(p) for p in frames[start - 1 : start + batch_size]])
        pairs = torch.cat([chunk[:-1], chunk[1:]], dim=1)  # (n, 6, H, W): (I_{i−1}, I_i)
        vectors.append(pose_model(pairs)[:, 0].cpu())  # poses are composed on the CPU
    return Trajectory(compose_relative(relative_from_pose_vectors(torch.cat(vectors))))


def save_kitti_poses(path: str | Path, trajectory: Trajectory) -> Path:
    """Write ``trajectory`` in the KITTI odometry format (12 numbers per line), atomically."""
    rows = trajectory.poses[:, :3, :].reshape(len(trajectory), 12)
    text = "\n".join(" ".join(f"{v:.9e}" for v in row) for row in rows) + "\n"
    return write_atomic(path, lambda tmp: tmp.write_text(text))


# ------------------------------------------------------------------------------ snippet protocol


def snippet_positions(
    relative: np.ndarray, length: int = SNIPPET_LENGTH
) -> tuple[np.ndarray, np.ndarray]:
    """The positions monodepth2's ``dump_xyz`` gives each snippet, for all snippets at once.

    Snippet ``i`` (one per relative pose, ``i = 0 … N−2``) takes ``relative[i : i + length − 1]``
    and accumulates ``M ← M · T`` from ``M = I``, recording the translation of ``M`` each time —
    the product order of monodepth2's code (see :func:`snippet_ate` for why it matters).
    Snippets near the end are shorter, as in the reference loop.

    Returns:
        ``(xyz (S, length, 3), valid (S, length) bool)`` with ``S = N − 1``; unused slots of the
        short snippets hold their last position and ``valid = False``.
    """
    count = len(relative)
    padded = np.concatenate([relative, np.tile(np.eye(4), (length - 2, 1, 1))])
    xyz = np.zeros((count, length, 3))
    product = np.tile(np.eye(4), (count, 1, 1))
    for k in range(length - 1):  # a loop over the 4 steps of a snippet, vectorised over snippets
        product = product @ padded[k : k + count]
        xyz[:, k + 1] = product[:, :3, 3]
    frames = np.minimum(length, count + 1 - np.arange(count))  # frames in snippet i
    valid = np.arange(length)[None, :] < frames[:, None]
    return xyz, valid


def snippet_ate(
    gt_relative: np.ndarray, pred_relative: np.ndarray, length: int = SNIPPET_LENGTH
) -> np.ndarray:
    """Per-snippet ATE of the SfMLearner / monodepth2 KITTI odometry protocol.

    For each snippet (both trajectories start at the origin), monodepth2's ``compute_ate``
    (from SfMLearner): shift the prediction so the first positions coincide, fit one scale
    ``s = Σ gt·pred / Σ pred²`` (least squares over the snippet's positions), and return
    ``√(Σ ‖s·pred − gt‖²) / n`` with ``n`` the snippet's frame count. Report the mean and the
    (population) standard deviation over snippets, as ``evaluate_pose.py`` prints them.

    Reproduced as published, not corrected:

    * the "RMSE" is ``√(sum)/n``, not ``√(sum/n)`` (smaller by ``√n`` = √5 on full snippets);
    * ``dump_xyz`` accumulates ``M · T_{i←i−1}`` rather than ``M · T_{i←i−1}⁻¹``, so the
      "positions" are not the camera centres when the camera rotates (monodepth2 issues #124 and
      #143, acknowledged by its authors); GT and prediction go through the same code, so a
      perfect prediction still scores 0;
    * there are ``N − 1`` snippets (one per relative pose) and the last three are shorter.

    Args:
        gt_relative: ``(N−1, 4, 4)`` ground-truth ``T_{i←i−1}`` (:func:`relative_poses`).
        pred_relative: ``(N−1, 4, 4)`` predicted ``T_{i←i−1}``.
        length: frames per snippet (5).

    Returns:
        ``(N−1,)`` ATE per snippet, in the ground truth's unit (metres).
    """
    if gt_relative.shape != pred_relative.shape or gt_relative.shape[1:] != (4, 4):
        raise DataError(
            None,
            f"ground truth and prediction must hold the same number of relative poses, got "
            f"{gt_relative.shape[0]} and {pred_relative.shape[0]}",
        )
    if len(gt_relative) == 0:
        raise DataError(None, "a trajectory of one frame has no snippet to score")
    gt, valid = snippet_positions(gt_relative, length)
    pred, _ = snippet_positions(pred_relative, length)
    pred = pred + (gt[:, :1] - pred[:, :1])  # first positions coincide (both are 0 here)
    weight = valid[..., None]
    denominator = np.sum(weight * pred**2, axis=(1, 2))
    scale = np.sum(weight * gt * pred, axis=(1, 2)) / np.where(denominator > 0, denominator, 1.0)
    error = weight * (scale[:, None, None] * pred - gt)
    return np.sqrt(np.sum(error**2, axis=(1, 2))) / valid.sum(axis=1)


# --------------------------------------------------------------------------- alignment and ATE


@dataclass(frozen=True)
class Similarity:
    """``y ≈ scale · R x + t``: rotation ``(3, 3)``, translation ``(3,)``, scale."""

    rotation: np.ndarray
    translation: np.ndarray
    scale: float = 1.0

    def apply(self, points: np.ndarray) -> np.ndarray:
        """``(N, 3)`` → ``(N, 3)``."""
        return self.scale * points @ self.rotation.T + self.translation


def umeyama(source: np.ndarray, target: np.ndarray, with_scale: bool = True) -> Similarity:
    """Least-squares similarity (or rigid) transform taking ``source`` onto ``target``.

    Umeyama 1991, "Least-squares estimation of transformation parameters between two point
    patterns": means (Eqs. 34–35), source variance σ² (Eq. 36), covariance
    ``Σ = 1/n Σ (y − μ_y)(x − μ_x)ᵀ`` (Eq. 38) with SVD ``U D Vᵀ``, ``S = diag(1, 1, det(U)det(V))``
    (Eq. 43), ``R = U S Vᵀ`` (Eq. 40), ``c = tr(D S)/σ²`` (Eq. 42), ``t = μ_y − c R μ_x`` (Eq. 41).
    Without scale (``c = 1``) this is the rigid fit of Horn / TUM's ``evaluate_ate.align``.
    Collinear points (a straight trajectory) leave the rotation about their line free; every
    choice fits equally well, and the SVD returns one of them.

    Args:
        source: ``(N, 3)`` points (the prediction).
        target: ``(N, 3)`` points (the ground truth).
        with_scale: fit ``c`` (sim(3)) or keep ``c = 1`` (se(3)).

    Raises:
        DataError: fewer than 2 points, or (with scale) all source points equal.
    """
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 3:
        raise ValueError(
            f"source and target must both be (N, 3), got {source.shape}, {target.shape}"
        )
    if len(source) < 2:
        raise DataError(None, f"alignment needs at least 2 matched poses, got {len(source)}")
    mu_x, mu_y = source.mean(0), target.mean(0)
    x, y = source - mu_x, target - mu_y
    sigma2 = np.mean(np.sum(x**2, axis=1))
    if with_scale and not sigma2 > 0:
        raise DataError(None, "all predicted positions are equal: no scale can be fitted")
    U, D, Vt = np.linalg.svd(y.T @ x / len(source))
    S = np.diag([1.0, 1.0, np.sign(np.linalg.det(U) * np.linalg.det(Vt))])
    R = U @ S @ Vt
    c = float(np.trace(np.diag(D) @ S) / sigma2) if with_scale else 1.0
    return Similarity(R, mu_y - c * R @ mu_x, c)


def error_statistics(errors: np.ndarray) -> dict[str, float]:
    """The statistics TUM's scripts print for an error vector: rmse, mean, median, std, min, max."""
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mean": float(np.mean(errors)),
        "median": float(np.median(errors)),
        "std": float(np.std(errors)),
        "min": float(np.min(errors)),
        "max": float(np.max(errors)),
    }


def absolute_trajectory_error(
    gt: np.ndarray, pred: np.ndarray, alignment: TrajectoryAlignment = "sim3"
) -> tuple[np.ndarray, Similarity]:
    """Position errors of ``pred`` after aligning it to ``gt`` (Sturm et al. 2012, ATE).

    Args:
        gt: ``(N, 3)`` ground-truth positions.
        pred: ``(N, 3)`` predicted positions, matched to ``gt`` row by row.
        alignment: ``sim3`` (Umeyama with scale: monocular predictions), ``se3`` (rigid, as
            TUM's ``evaluate_ate.py``), or ``none``.

    Returns:
        ``(errors (N,), the fitted transform)``; ATE = ``sqrt(mean(errors²))``.
    """
    if alignment == "none":
        fit = Similarity(np.eye(3), np.zeros(3), 1.0)
    elif alignment in ("sim3", "se3"):
        fit = umeyama(pred, gt, with_scale=alignment == "sim3")
    else:
        raise UnknownNameError("trajectory alignment", alignment, ["sim3", "se3", "none"])
    return np.linalg.norm(fit.apply(pred) - gt, axis=1), fit


def relative_pose_error(
    gt: np.ndarray, pred: np.ndarray, delta: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """TUM's relative pose error over the frame pairs ``(i, i + Δ)``, exactly as
    ``evaluate_rpe.py --fixed_delta --delta Δ --delta_unit f --max_pairs 0`` (Sturm et al. 2012).

    ``E_i = (P_{i+Δ}⁻¹ P_i)⁻¹ (Q_{i+Δ}⁻¹ Q_i)`` with ``P`` the prediction and ``Q`` the ground
    truth (``ominus(ominus(est_j, est_i), ominus(gt_j, gt_i))``); translational error
    ``‖t(E_i)‖``, rotational error ``arccos(clip((tr R(E_i) − 1)/2, −1, 1))``.

    Which of TUM's modes this is: with ``--fixed_delta`` the script pairs each ``i`` with the
    index closest to ``i + Δ`` and **drops every pair ending at the last index** — so the pairs
    are ``i = 0 … N − Δ − 2`` (``N − Δ − 1`` of them; the pair ``(N − Δ − 1, N − 1)`` is not
    scored), reproduced here. Its default mode (no ``--fixed_delta``) scores all ``N²`` ordered
    pairs ``(i, j)`` whatever the delta, and it draws 10 000 pairs at random when there are more
    (``--max_pairs``); depthforge uses every pair (``--max_pairs 0``). The poses are the matched
    lists (for TUM files, timestamps matched as ``associate.py``), and like the script this
    refuses fewer than 2 pairs.

    Args:
        gt: ``(N, 4, 4)`` camera-to-world ground truth.
        pred: ``(N, 4, 4)`` matched predictions (scaled to metres first if monocular).
        delta: frame step.

    Returns:
        ``(translational errors (N−Δ−1,) in metres, rotational errors (N−Δ−1,) in degrees)``.

    Raises:
        DataError: ``delta < 1``, or fewer than 2 pairs (``N < Δ + 3``).
    """
    count = len(gt) - delta - 1
    if delta < 1 or count < 2:
        raise DataError(
            None,
            f"RPE step {delta} over {len(gt)} poses leaves {max(count, 0)} pairs; TUM's "
            "evaluate_rpe.py needs at least 2 (delta ≥ 1 and N ≥ delta + 3)",
        )
    first, second = pred[:count], pred[delta : delta + count]
    est = np.linalg.inv(second) @ first
    ref = np.linalg.inv(gt[delta : delta + count]) @ gt[:count]
    error = np.linalg.inv(est) @ ref
    cos = np.clip((np.trace(error[:, :3, :3], axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    return np.linalg.norm(error[:, :3, 3], axis=1), np.degrees(np.arccos(cos))


# ------------------------------------------------------------------------------------ the API


@dataclass(frozen=True)
class PoseEvalResult:
    """Trajectory metrics with everything that produced them.

    Attributes:
        protocol: ``snippets`` or ``full``.
        metrics: name → value (metres; rotational RPE in degrees).
        n_poses: matched poses that were scored.
        settings: files, format, alignment, snippet length, RPE step, …
    """

    protocol: str
    metrics: dict[str, float]
    n_poses: int
    settings: dict[str, Any] = field(default_factory=dict)

    def table(self) -> Table:
        """A rich table, one row per metric; the caption names the protocol and settings."""
        shown = ", ".join(f"{k}={v}" for k, v in self.settings.items() if k not in ("gt", "pred"))
        table = Table(caption=f"protocol: {self.protocol} ({shown})")
        table.add_column("metric")
        table.add_column(str(self.settings.get("pred", "prediction")), justify="right")
        for key, value in self.metrics.items():
            table.add_row(key, f"{value:.4f}" if math.isfinite(value) else str(value))
        table.add_row("poses", str(self.n_poses))
        return table


def match_trajectories(
    gt: Trajectory, pred: Trajectory, max_difference: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """Matched ``(gt poses (M, 4, 4), pred poses (M, 4, 4))``: by timestamp when both have them
    (TUM ``associate.py``, ``max_difference`` seconds), otherwise by index (equal lengths)."""
    if gt.timestamps is not None and pred.timestamps is not None:
        pairs = np.asarray(associate(gt.timestamps, pred.timestamps, max_difference)).reshape(-1, 2)
        if len(pairs) == 0:
            raise DataError(
                pred.path, f"no pose within {max_difference} s of a ground-truth timestamp"
            )
        return gt.poses[pairs[:, 0]], pred.poses[pairs[:, 1]]
    if len(gt) != len(pred):
        raise DataError(
            pred.path,
            f"{len(pred)} poses but the ground truth has {len(gt)}; without timestamps on both "
            "sides poses are matched by index, so the counts must agree",
        )
    return gt.poses, pred.poses


def evaluate_trajectory(
    gt: str | Path | Trajectory,
    pred: str | Path | Trajectory,
    format: TrajectoryFormat | None = None,
    protocol: PoseProtocol = "snippets",
    alignment: TrajectoryAlignment = "sim3",
    rpe_delta: int = 1,
) -> PoseEvalResult:
    """Score a predicted trajectory against the ground truth.

    Args:
        gt: ground-truth file (KITTI or TUM format) or :class:`Trajectory`.
        pred: predicted trajectory file or :class:`Trajectory`; for ``snippets`` also a ``.npy``
            of ``(N−1, 4, 4)`` relative poses ``T_{i←i−1}`` (monodepth2's ``poses.npy``).
        format: ``kitti`` or ``tum`` for both files; ``None`` guesses from the column count.
        protocol: ``snippets`` (SfMLearner/monodepth2: ATE mean ± std over 5-frame snippets,
            one scale per snippet) or ``full`` (TUM: ATE of the whole trajectory after
            ``alignment``, plus RPE over ``rpe_delta`` frames).
        alignment: ``sim3``, ``se3`` or ``none`` (``full`` only).
        rpe_delta: the RPE frame step (``full`` only).

    Example:
        >>> poses = np.tile(np.eye(4), (6, 1, 1)); poses[:, 2, 3] = np.arange(6.0)
        >>> r = evaluate_trajectory(Trajectory(poses), Trajectory(poses))
        >>> r.metrics["ate_mean"]
        0.0
    """
    gt_traj = gt if isinstance(gt, Trajectory) else read_trajectory(gt, format)
    settings: dict[str, Any] = {"gt": str(gt_traj.path or "given")}
    if protocol == "snippets":
        if not isinstance(pred, Trajectory) and Path(pred).suffix == ".npy":
            pred_relative = read_relative_poses(pred)
            gt_poses = gt_traj.poses
            settings["pred"] = str(pred)
        else:
            pred_traj = pred if isinstance(pred, Trajectory) else read_trajectory(pred, format)
            gt_poses, pred_poses = match_trajectories(gt_traj, pred_traj)
            pred_relative = relative_poses(pred_poses)
            settings["pred"] = str(pred_traj.path or "given")
        errors = snippet_ate(relative_poses(gt_poses), pred_relative)
        settings["snippet_length"] = SNIPPET_LENGTH
        metrics = {"ate_mean": float(np.mean(errors)), "ate_std": float(np.std(errors))}
        return PoseEvalResult(protocol, metrics, len(gt_poses), settings)
    if protocol != "full":
        raise UnknownNameError("pose protocol", protocol, ["snippets", "full"])
    pred_traj = pred if isinstance(pred, Trajectory) else read_trajectory(pred, format)
    settings["pred"] = str(pred_traj.path or "given")
    gt_poses, pred_poses = match_trajectories(gt_traj, pred_traj)
    errors, fit = absolute_trajectory_error(gt_poses[:, :3, 3], pred_poses[:, :3, 3], alignment)
    metrics = {f"ate_{k}": v for k, v in error_statistics(errors).items()}
    metrics["alignment_scale"] = fit.scale
    if len(gt_poses) >= rpe_delta + 3:  # TUM's evaluate_rpe.py needs 2 pairs
        # RPE is invariant to a rigid change of the world frame but not to scale: apply the
        # fitted scale (1 for se3 / none) to the predicted translations first.
        scaled = pred_poses.copy()
        scaled[:, :3, 3] *= fit.scale
        trans, rot = relative_pose_error(gt_poses, scaled, rpe_delta)
        metrics["rpe_trans_rmse"] = float(np.sqrt(np.mean(trans**2)))
        metrics["rpe_rot_rmse_deg"] = float(np.sqrt(np.mean(rot**2)))
    settings.update(alignment=alignment, rpe_delta=rpe_delta)
    return PoseEvalResult(protocol, metrics, len(gt_poses), settings)
