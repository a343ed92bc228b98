"""Depth completion from sparse or holey depth: the colorization fill, gradient-fusion refinement.

**Colorization fill** (Levin, Lischinski & Weiss 2004, "Colorization using Optimization",
Eq. 1–3; as adapted to depth by the NYU Depth v2 toolbox's ``fill_depth_colorization.m``,
Silberman et al. 2012). Depth should vary like the image intensity: each pixel's depth is the
weighted mean of its 3 × 3 neighbours' depths, with weights that vanish across intensity edges.
The toolbox's exact recipe, constants named below:

* intensity ``I`` = MATLAB ``rgb2gray`` of the RGB image in [0, 1]
  (``0.2989 R + 0.5870 G + 0.1140 B``);
* for pixel r with in-image neighbours s (the window is cut at the border):
  ``σ_r² = 0.6 · var(I over the window incl. r)`` (population variance), then
  ``σ_r² ≥ −min_s (I_s − I_r)² / ln 0.01`` (the most similar neighbour keeps weight ≥ 0.01) and
  ``σ_r² ≥ 2·10⁻⁶``; ``w_rs = exp(−(I_r − I_s)² / σ_r²)`` normalised to ``Σ_s w_rs = 1``
  (Levin et al. Eq. 2 with the toolbox's 0.6 factor and clamps);
* the system ``(A + G) x = G d`` with ``A = I − W`` (rows of Levin Eq. 1) and
  ``G = diag(α · known)``: known pixels are a *soft* constraint of weight α (toolbox default
  α = 1), so noisy Kinect values are smoothed slightly too. ``data_weight=None`` instead fixes
  them exactly (hard constraint: the system shrinks to the unknown pixels; faster when few are
  missing, but not the toolbox's result).

``W`` is not symmetric (σ_r depends on r), so neither CG nor a Cholesky factorisation applies.
The toolbox solves the system directly (backslash). Here, with most pixels known (Kinect), it
is solved by block Gauss–Seidel (the hole pixels by sparse LU, the known pixels from their own
rows; ``_soft_constraint_solve``) to within 1e-6 of the depth range of the direct solution;
with fewer than half known (LiDAR, :data:`DIRECT_SOLVE_BELOW`) directly. Every sparse LU runs
in a nested-dissection order without pivoting (:mod:`depthforge.apps.grid_system`). Measured
in ``benchmarks/completion_speed.py`` against SuperLU's direct solve (minimum-degree order): see
``benchmarks/RESULTS.md``. The hard-constraint system is solved by the same sparse LU.
Deviations: the toolbox also treats depth == 10 (NYU's saturation
value) as missing — pass ``valid`` for that; it divides the depth by its maximum before solving,
which changes nothing in a linear system. Agreement: on a crop of a real NYU frame whose
in-painted depth is the toolbox's output, the fill differs by 2 mm on the holes (the test).

**Refinement** with :func:`depthforge.geometry.fusion.fuse_depth_gradients` (Li et al. 2017's
fusion energy, quadratic): ``argmin_D Σ (D − D̂)² + α Σ |∇D − ∇S|²`` keeps the values of a
completed depth D̂ and takes its gradients from a source S: a plain depth network's prediction
scale-aligned to the sparse points (detail from the network, metric level from the samples), or a
Gaussian-smoothed D̂ (denoising).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sparse_matrix
import torch
from scipy.sparse.linalg import spsolve

from depthforge.apps.grid_system import GridLU, StencilMatrix
from depthforge.errors import DataError, DepthforgeError, check_name
from depthforge.types import OutputSpace, image_to_tensor

MATLAB_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])
"""MATLAB ``rgb2gray`` luma weights (what the toolbox uses)."""
VARIANCE_FACTOR = 0.6
"""Toolbox ``csig = c_var * 0.6``: σ² is 0.6 × the window's intensity variance."""
MIN_NEIGHBOUR_WEIGHT = 0.01
"""Toolbox ``csig ≥ −mgv / log(0.01)``: the most similar neighbour keeps at least this weight."""
MIN_SIGMA_SQUARED = 2e-6
"""Toolbox ``csig ≥ 0.000002``."""
TOOLBOX_DATA_WEIGHT = 1.0
"""Toolbox default ``alpha``: weight of a known pixel's own depth."""
NEIGHBOUR_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))
"""The 8 neighbours of the toolbox's 3 × 3 window (``winRad = 1``)."""
DIRECT_SOLVE_BELOW = 0.5
"""With fewer known pixels than this share (LiDAR), the fill solves the whole system directly
(:class:`~depthforge.apps.grid_system.GridLU`) rather than by block Gauss–Seidel, whose hole
block is then nearly the whole system and whose sweeps cost a solve each (real KITTI frame,
4 % known: 2.1 s of CPU against 3.3 s; real NYU frame, 83 % known: 1.4 s against 0.33 s)."""
METHODS = ("colorization", "fusion")
FUSION_ALPHA = 4.0
"""Gradient weight of the refinement (a choice made here: detail from the gradient source
dominates within a few pixels, the level comes from the data term)."""
SMOOTH_SIGMA_PX = 2.0
"""Gaussian σ (pixels) of the smoothed self-gradient source of ``fusion`` without a model."""
ALIGNMENT_FOR_SPACE = {
    OutputSpace.METRIC_DEPTH: "scale",
    OutputSpace.LOG_DEPTH: "scale",
    OutputSpace.SCALE_INVARIANT_DEPTH: "scale",
    OutputSpace.AFFINE_INVARIANT_DEPTH: "scale_shift",
    OutputSpace.AFFINE_INVARIANT_DISPARITY: "scale_shift_disparity",
}
"""How a plain model's prediction is fitted to the sparse points (:mod:`depthforge.eval.align`):
a least-squares scale (depth spaces; corrects a metric model's scale error too), scale and shift
for affine-invariant outputs."""


def to_gray(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 or float RGB in [0, 1] → ``(H, W)`` float64 intensity (MATLAB
    ``rgb2gray`` weights)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    rgb = image / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)
    return rgb @ MATLAB_GRAY_WEIGHTS


def neighbour_weights(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The toolbox's affinity weights (module docstring) as images, without a per-pixel loop:
    one shifted copy of the image per neighbour offset.

    Args:
        gray: ``(H, W)`` intensity in [0, 1].

    Returns:
        ``(weights, inside)``, each ``(8, H, W)`` in the order of :data:`NEIGHBOUR_OFFSETS`:
        ``weights[k, v, u] = w_rs`` from pixel ``r = (v, u)`` to ``s = (v + dy_k, u + dx_k)``
        (0 outside the image, summing to 1 over k) and whether ``s`` is in the image.
    """
    h, w = gray.shape
    padded = np.pad(gray.astype(np.float64), 1, constant_values=np.nan)
    neighbours = np.stack(
        [padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in NEIGHBOUR_OFFSETS]
    )
    inside = np.isfinite(neighbours)  # (8, H, W): the window is cut at the image border
    count = 1 + inside.sum(0)
    mean = (gray + np.where(inside, neighbours, 0.0).sum(0)) / count
    variance = ((gray - mean) ** 2 + np.where(inside, (neighbours - mean) ** 2, 0.0).sum(0)) / count
    squared_diff = np.where(inside, (neighbours - gray) ** 2, np.inf)
    sigma2 = VARIANCE_FACTOR * variance
    sigma2 = np.maximum(sigma2, -squared_diff.min(0) / math.log(MIN_NEIGHBOUR_WEIGHT))
    sigma2 = np.maximum(sigma2, MIN_SIGMA_SQUARED)
    weights = np.exp(-squared_diff / sigma2)  # exp(−inf) = 0 outside the image
    weights /= weights.sum(0)
    return weights, inside


def colorization_weights(gray: np.ndarray) -> sparse_matrix.csr_matrix:
    """The row-stochastic affinity ``W`` ``(HW, HW)`` of the toolbox (module docstring;
    :func:`neighbour_weights`).

    Args:
        gray: ``(H, W)`` intensity in [0, 1]; pixel ``(v, u)`` is row ``v·W + u``.

    Returns:
        CSR matrix with ``W[r, s] = w_rs`` for the in-image 8-neighbours s of r, rows summing to 1.
    """
    return StencilMatrix.from_weights(None, *neighbour_weights(gray)).block()


def _check_fill_inputs(
    image: np.ndarray, depth: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {depth.shape}")
    if np.asarray(image).shape[:2] != depth.shape:
        raise ValueError(
            f"depth is {depth.shape[1]}×{depth.shape[0]} but the image is "
            f"{image.shape[1]}×{image.shape[0]} (W×H): they must be registered"
        )
    known = np.isfinite(depth) & (depth > 0)
    if valid is not None:
        known &= np.asarray(valid, dtype=bool)
    if not known.any():
        raise ValueError(
            "depth has no valid sample (all 0, negative or non-finite): nothing to fill"
        )
    return np.where(known, depth, 0.0), known


def colorization_fill(
    image: np.ndarray,
    depth: np.ndarray,
    *,
    valid: np.ndarray | None = None,
    data_weight: float | None = TOOLBOX_DATA_WEIGHT,
) -> np.ndarray:
    """Fill missing depth guided by the image (NYU toolbox colorization; module docstring).

    Args:
        image: ``(H, W, 3)`` RGB, uint8 or float in [0, 1].
        depth: ``(H, W)`` metres; ``0``/negative/non-finite = missing. Dense with holes (Kinect)
            or very sparse (LiDAR) alike.
        valid: optional ``(H, W)`` bool, ANDed with ``depth > 0`` (e.g. to drop NYU's 10 m).
        data_weight: α of the known pixels (toolbox: 1, a soft constraint), or ``None`` to keep
            them exactly (hard constraint, reduced system).

    Returns:
        ``(H, W)`` float32 dense depth in metres.

    Example:
        >>> img = np.zeros((4, 6, 3)); img[:, 3:] = 1.0     # two regions
        >>> d = np.zeros((4, 6)); d[0, 0], d[3, 5] = 1.0, 5.0
        >>> np.round(colorization_fill(img, d, data_weight=None), 1)[1].tolist()
        [1.0, 1.0, 1.0, 5.0, 5.0, 5.0]
    """
    values, known = _check_fill_inputs(image, depth, valid)
    h, w = known.shape
    weights, inside = neighbour_weights(to_gray(image))
    known_flat, values_flat = known.ravel(), values.ravel()
    if data_weight is None:
        system = StencilMatrix.from_weights(np.ones((h, w)), -weights, inside)  # I − W
        unknown = ~known_flat
        solution = values_flat.copy()
        if unknown.any():
            rhs = -(system.block(unknown, known_flat) @ values_flat[known_flat])
            solution[unknown] = GridLU(system, unknown).solve(rhs)
            if not _within_samples(solution, values_flat[known_flat]):
                solution[unknown] = _lu_solve(system.block(unknown, unknown), rhs, "COLAMD")
        return solution.reshape(h, w).astype(np.float32)
    if not data_weight > 0:
        raise ValueError(
            f"data_weight must be > 0 (or None for hard constraints), got {data_weight}"
        )
    prior = data_weight * known_flat
    system = StencilMatrix.from_weights(1.0 + prior.reshape(h, w), -weights, inside)
    rhs = prior * values_flat
    if known_flat.mean() < DIRECT_SOLVE_BELOW:
        solution = GridLU(system, np.ones(h * w, dtype=bool)).solve(rhs)
        if not _within_samples(solution, values_flat[known_flat]):
            solution = _lu_solve(system.block(), rhs, "MMD_AT_PLUS_A")
    else:
        solution = _soft_constraint_solve(system, known_flat, rhs, data_weight)
    return solution.reshape(h, w).astype(np.float32)


def _lu_solve(system: sparse_matrix.spmatrix, rhs: np.ndarray, ordering: str) -> np.ndarray:
    """Sparse LU (SuperLU) with the column ordering that measured fastest for the system
    (benchmarks/completion_speed.py): ``MMD_AT_PLUS_A`` for the full 9-point system, ``COLAMD``
    for the reduced one (where minimum degree on AᵀA+A was up to ×20 slower)."""
    return spsolve(system.tocsc(), rhs, permc_spec=ordering)


def _soft_constraint_solve(
    system: StencilMatrix,
    known: np.ndarray,
    rhs: np.ndarray,
    data_weight: float,
    tol: float = 1e-6,
    max_sweeps: int = 100,
) -> np.ndarray:
    """Solve the soft-constraint system ``(I − W + αK) x = α K d`` by block Gauss–Seidel.

    The unknown pixels u are solved exactly given the known ones k (sparse LU of the block
    ``A_uu`` in nested-dissection order, :class:`~depthforge.apps.grid_system.GridLU`; the hole
    pixels only: the direct solve of the hard-constraint system), then each
    known pixel is updated from its equation, ``x_k = (α d_k + (W x)_k) / (1 + α)``. Rows of W
    sum to 1 and ``A_uu⁻¹ W_uk`` is an averaging (non-negative, rows summing to 1), so each sweep
    shrinks the error's max norm by at least ``ρ = 1 / (1 + α)``; the loop stops when the update
    ``Δ`` guarantees ``‖x − x*‖∞ ≤ Δ·ρ/(1 − ρ) = Δ/α ≤ tol · max|rhs|/α`` (1e-6 of the depth
    range: 0.01 mm at 10 m). Falls back to the direct LU of the whole system (with pivoting) if
    ``A_uu`` is singular (a hole region without any known pixel), if the result leaves the
    samples' range (:func:`_within_samples`), or after ``max_sweeps`` (α ≪ 1).

    Args:
        system: the toolbox matrix ``I − W + diag(α·known)`` over the ``N`` pixels.
        known: ``(N,)`` bool, pixels with a depth sample.
        rhs: ``(N,)`` ``α · known · d``.
        data_weight: α.

    Returns:
        ``(N,)`` float64 solution.
    """
    unknown = ~known
    a_ku, a_kk, a_uk = system.block(known, unknown), system.block(known, known), None
    rhs_k, rhs_u = rhs[known], rhs[unknown]
    x_k, x_u = rhs_k / data_weight, np.zeros(len(rhs_u))  # start from the samples
    if unknown.any():
        a_uk = system.block(unknown, known)
        try:
            lu = GridLU(system, unknown)
        except RuntimeError:  # singular: a hole region that touches no known pixel
            return _lu_solve(system.block(), rhs, "MMD_AT_PLUS_A")
    diagonal = system.values[known, 4]
    bound = tol * max(np.abs(x_k).max(), 1e-12) * data_weight
    for _ in range(max_sweeps):
        if a_uk is not None:
            x_u = lu.solve(rhs_u - a_uk @ x_k)
        step = (rhs_k - a_ku @ x_u - a_kk @ x_k) / diagonal
        x_k = x_k + step
        if np.abs(step).max() <= bound:
            if a_uk is not None:
                x_u = lu.solve(rhs_u - a_uk @ x_k)
            x = np.empty_like(rhs)
            x[known], x[unknown] = x_k, x_u
            if _within_samples(x, rhs_k / data_weight, tol):
                return x
            break  # a nearly singular hole block: solve with pivoting instead
    return _lu_solve(system.block(), rhs, "MMD_AT_PLUS_A")


def _within_samples(x: np.ndarray, samples: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether ``x`` lies within ``[min, max]`` of the samples, give or take ``tol`` of their
    largest magnitude: the exact fill does (each pixel's value is a convex combination of its
    neighbours' and its own sample), so a solution outside the range (or non-finite) comes from
    a nearly singular block."""
    slack = tol * np.abs(samples).max()
    return bool(np.all((x >= samples.min() - slack) & (x <= samples.max() + slack)))


def refine_with_gradients(
    depth: np.ndarray,
    gradient_source: np.ndarray | None = None,
    *,
    alpha: float = FUSION_ALPHA,
    smooth_sigma: float = SMOOTH_SIGMA_PX,
) -> np.ndarray:
    """Refine a dense depth by screened-Poisson fusion (Li et al. 2017 energy, quadratic φ,
    solved by :func:`depthforge.geometry.fusion.fuse_depth_gradients`).

    Args:
        depth: ``(H, W)`` dense depth D̂ in metres (the data term).
        gradient_source: ``(H, W)`` map S in metres whose forward differences are the target
            gradients, or ``None`` for D̂ smoothed by a Gaussian of ``smooth_sigma`` pixels.
        alpha: gradient weight ≥ 0.

    Returns:
        ``(H, W)`` float32 refined depth in metres.
    """
    from scipy.ndimage import gaussian_filter

    from depthforge.geometry.fusion import forward_diff, fuse_depth_gradients

    base = np.asarray(depth, dtype=np.float64)
    source = gaussian_filter(base, smooth_sigma) if gradient_source is None else gradient_source
    source = np.asarray(source, dtype=np.float64)
    if source.shape != base.shape:
        raise ValueError(f"gradient source {source.shape} differs from depth {base.shape} (H, W)")
    grad_x, grad_y = forward_diff(torch.from_numpy(source)[None, None])
    fused = fuse_depth_gradients(torch.from_numpy(base)[None, None], grad_x, grad_y, alpha)
    return fused[0, 0].numpy().astype(np.float32)


def align_to_sparse(
    prediction: np.ndarray, output_space: OutputSpace | str, sparse: np.ndarray
) -> np.ndarray:
    """Fit a plain model's ``(H, W)`` prediction to the sparse metric samples (``sparse > 0``)
    with :func:`depthforge.eval.align.align` in the mode of :data:`ALIGNMENT_FOR_SPACE`;
    ``(H, W)`` float32 metres (non-positive or non-finite results become 0)."""
    from depthforge.eval.align import align

    space = OutputSpace(output_space)
    if space not in ALIGNMENT_FOR_SPACE:
        raise DepthforgeError(f"a {space.value} prediction cannot be aligned to metric samples")
    as_tensor = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))[None, None]  # noqa: E731
    valid = as_tensor(sparse) > 0
    aligned, _ = align(
        as_tensor(prediction), as_tensor(sparse), valid, ALIGNMENT_FOR_SPACE[space], space
    )
    out = aligned[0, 0].numpy()
    return np.where(np.isfinite(out) & (out > 0), out, 0.0).astype(np.float32)


@dataclass
class Completion:
    """A completed depth map and how it was made.

    Attributes:
        depth: ``(H, W)`` float32 metres, dense.
        how: one line naming the method (for the CLI and the file's provenance).
    """

    depth: np.ndarray
    how: str


def complete_depth(
    image: np.ndarray,
    sparse: np.ndarray,
    *,
    method: str = "colorization",
    model=None,
    fusion_alpha: float = FUSION_ALPHA,
) -> Completion:
    """Complete ``sparse`` depth for ``image`` (the Python API behind ``depthforge complete``).

    * no model, ``colorization``: :func:`colorization_fill` (toolbox α = 1);
    * no model, ``fusion``: the colorization fill refined with the gradients of its Gaussian-
      smoothed self (:func:`refine_with_gradients`);
    * a model that takes sparse input (``model.takes_sparse``, e.g. ``sparse_to_dense_*``): the
      network's completion (``method`` must be ``colorization``, the default);
    * a plain depth model: ``fusion`` only: its prediction is scale-aligned to the sparse points
      (:func:`align_to_sparse`) and supplies the gradients; the colorization fill the values.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        sparse: ``(H, W)`` metres, 0 = no sample.
        model: a loaded :class:`~depthforge.models.base.DepthModel`, or ``None``.
    """
    check_name("completion method", method, METHODS)
    if model is not None and getattr(model, "takes_sparse", False):
        if method != "colorization":
            raise DepthforgeError(
                f"{type(model).__name__} completes depth itself; --method {method} applies to "
                "classical completion or to a plain depth model"
            )
        from depthforge.models.predict import predict

        prediction = predict(model, image_to_tensor(image)[None], sparse=_depth_tensor(sparse))
        return Completion(prediction.depth[0, 0].numpy(), f"{type(model).__name__} (RGB + sparse)")
    if model is not None and method != "fusion":
        raise DepthforgeError(
            f"{type(model).__name__} does not take sparse depth: use --method fusion (its "
            "prediction, scale-aligned to the samples, gives the gradients of the fill)"
        )
    filled = colorization_fill(image, sparse)
    if method == "colorization":
        return Completion(filled, "colorization fill (NYU toolbox, alpha = 1)")
    if model is None:
        refined = refine_with_gradients(filled, alpha=fusion_alpha)
        return Completion(
            refined, f"colorization fill + fusion with its smoothed gradients (α={fusion_alpha})"
        )
    from depthforge.models.predict import predict

    prediction = predict(model, image_to_tensor(image)[None])
    aligned = align_to_sparse(prediction.depth[0, 0].numpy(), prediction.output_space, sparse)
    mode = ALIGNMENT_FOR_SPACE[prediction.output_space]
    refined = refine_with_gradients(filled, aligned, alpha=fusion_alpha)
    return Completion(
        refined,
        f"colorization fill + fusion with the gradients of {type(model).__name__} "
        f"({prediction.output_space.value}, {mode}-aligned to the samples, α={fusion_alpha})",
    )


def _depth_tensor(depth: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(depth, dtype=np.float32))[None, None]


@dataclass
class CompletionSummary:
    """What :func:`complete_command` wrote.

    Attributes:
        path: the completed depth file; ``preview``: its colour preview PNG.
        samples: input pixels with depth; ``pixels``: all pixels.
        how: the method line of :class:`Completion`.
    """

    path: Path
    preview: Path
    samples: int
    pixels: int
    how: str

    def line(self) -> str:
        """One line for the CLI."""
        share = 100.0 * self.samples / self.pixels
        return (
            f"wrote {self.path} (preview {self.preview}) from {self.samples} samples "
            f"({share:.1f} % of pixels): {self.how}"
        )


def complete_command(
    image: str | Path,
    sparse: str | Path,
    out: str | Path,
    *,
    method: str = "colorization",
    model: str | Path | None = None,
    device: str | torch.device = "cpu",
    depth_kind: str | None = None,
    depth_scale: float | None = None,
    calib: str | Path | None = None,
    camera: int = 2,
    fusion_alpha: float = FUSION_ALPHA,
    overwrite: bool = False,
) -> CompletionSummary:
    """``depthforge complete``: an image and its sparse depth file → dense depth file + preview.

    Args:
        image: the RGB photo.
        sparse: depth registered to ``image`` (0 = no sample), decoded by
            :func:`depthforge.io.read_depth` (``depth_kind`` default ``npy`` for ``.npy``).
        out: ``.npy`` (float32 metres) or ``.png`` (uint16 millimetres); a preview
            ``<out stem>_preview.png`` (:func:`depthforge.viz.depth_preview`) is written beside it.
        method, model, fusion_alpha: see :func:`complete_depth`; ``model`` is a saved folder
            or a pretrained name, run on ``device``.
        depth_kind, depth_scale: how to decode ``sparse`` (``png16`` with units per metre, e.g.
            256 for KITTI depth-completion PNGs).
        calib, camera: for a KITTI velodyne ``.bin`` scan (kind ``velodyne``, inferred from the
            suffix): its calibration (raw date folder or object calib ``.txt``; found beside the
            scan in the KITTI layouts when not given) and the camera of ``image`` (default 2,
            the left colour camera); the scan is projected into the image
            (:func:`depthforge.apps.depth_input.read_velodyne_depth`).
        overwrite: replace existing outputs.

    Raises:
        DataError: unreadable files, sizes that differ (both named), existing outputs, no sample.
    """
    from depthforge.apps.depth_input import read_registered_depth
    from depthforge.io import read_rgb, refuse_overwrite, save_depth_npy, save_depth_png16, save_rgb
    from depthforge.viz import depth_preview

    out = Path(out)
    writers = {".npy": save_depth_npy, ".png": save_depth_png16}
    if out.suffix.lower() not in writers:
        raise ValueError(f"{out}: the output must be .npy (metres) or .png (16-bit millimetres)")
    preview = out.with_name(f"{out.stem}_preview.png")
    for target in (out, preview):
        refuse_overwrite(target, overwrite)
    rgb = read_rgb(image)
    sparse_path = Path(sparse)
    samples = read_registered_depth(
        sparse_path, image, rgb.shape, depth_kind, depth_scale, calib=calib, camera=camera
    )
    count = int((samples > 0).sum())
    if count == 0:
        raise DataError(sparse_path, "holds no depth sample (all 0): nothing to complete from")
    net = None
    if model is not None:
        from depthforge.models.pretrained.load import resolve_model

        net = resolve_model(model, device=device)
    result = complete_depth(rgb, samples, method=method, model=net, fusion_alpha=fusion_alpha)
    writers[out.suffix.lower()](out, result.depth)
    save_rgb(preview, depth_preview(result.depth))
    return CompletionSummary(out, preview, count, samples.size, result.how)
