"""Differentiable direct pose refinement: DDVO (Wang et al. 2018, "Learning Depth from Monocular
Videos using Direct Methods", §3, and their ``DirectVOLayer.py``).

Given the target image, its depth and an initial relative pose ``T_{t→s}`` (e.g. from a pose
network), a few **inverse-compositional Gauss-Newton** steps (Baker & Matthews 2004) minimise the
photometric error ``Σ_p ‖I_s(π(K T X_t(p))) − I_t(p)‖²`` over the pose. Everything is built from
differentiable tensor operations, so the refined pose is a function of the depth map and gradients
of a later photometric loss flow *through the solver* into the depth network — the point of DDVO.

Inverse compositional form (as DDVO): the twist ``ξ`` perturbs the *target* side,
``I_t(π(K exp(ξ) X_t))``, so the image Jacobian ``∇I_t · ∂π/∂ξ`` depends only on the target image
and depth and is computed once per pyramid level; each iteration warps the source with the
current pose (:func:`~depthforge.geometry.warp.synthesize_view`), solves the ``(B, 6, 6)`` normal
equations ``(JᵀWJ + λ·diag(JᵀWJ)) ξ = JᵀW r`` and updates ``T ← T · exp(ξ)⁻¹``.

Where we differ from the DDVO code (on purpose, each a one-line choice):

* **Update side.** DDVO composes the increment on the left (``R ← exp(ω)ᵀR``, ``t ← exp(ω)ᵀt − v``),
  which equals the inverse-compositional update only to first order around ``T = I``; we compose
  on the right, ``T · exp(ξ)⁻¹``, which is the exact IC update for any ``T``.
* **Masked Hessian.** DDVO precomputes ``(JᵀJ)⁻¹`` over all pixels and masks only the residual;
  we rebuild ``JᵀWJ`` each iteration with the in-view mask ``W`` (the Gauss-Newton matrix of the
  masked objective it actually minimises; cheap: one ``(B, 6, N) @ (B, N, 6)``).
* **Damping.** DDVO is plain Gauss-Newton (no damping) guarded by step rejection. We keep the
  step rejection and add an optional Marquardt term ``λ·diag(H)`` (default ``1e-4``, negligible
  on textured images; ``damping=0`` is DDVO's solver) and a machine-epsilon ridge ``ε·I`` so
  that a textureless image (``H = 0``, ``g = 0``) gives a zero step instead of a singular solve.
* **Step acceptance** is DDVO's: after every step the cost is evaluated and a sample whose cost
  did not decrease (or whose in-view fraction fell below ``min_in_view`` = 0.5) keeps its best
  pose and stops; the returned pose is the best one evaluated. DDVO measures that cost with L1;
  we use the mean squared residual, the objective the Gauss-Newton step minimises.
* **Pyramid.** Coarse-to-fine over ``levels`` scales (area downsampling; depth averaged in
  inverse depth as DDVO's pyramid of inverse depth; K rescaled by
  :func:`~depthforge.geometry.camera.scale_intrinsics`). DDVO's fine-tuning runs only the finest
  level (``lk_level=1``) with 10 iterations, which are our defaults.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.geometry.camera import backproject, scale_intrinsics
from depthforge.geometry.se3 import se3_exp
from depthforge.geometry.warp import as_batch_matrix, synthesize_view


def central_gradients(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Image derivatives ``∂I/∂u ≈ (I(u+1) − I(u−1))/2`` and ``∂I/∂v`` (replicate padding).

    The ``[−½, 0, ½]`` kernel of DDVO's ``GradientLayer``; at the border the replicated pixel
    gives a one-sided half difference.

    Args:
        image: ``(B, C, H, W)``.

    Returns:
        ``(grad_u, grad_v)``, each ``(B, C, H, W)``, in intensity per pixel.
    """
    padded_u = F.pad(image, (1, 1, 0, 0), mode="replicate")
    padded_v = F.pad(image, (0, 0, 1, 1), mode="replicate")
    grad_u = 0.5 * (padded_u[..., :, 2:] - padded_u[..., :, :-2])
    grad_v = 0.5 * (padded_v[..., 2:, :] - padded_v[..., :-2, :])
    return grad_u, grad_v


def projection_jacobian(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """``∂π(K exp(ξ) X)/∂ξ`` at ``ξ = 0``: the 2×6 pixel Jacobian of a point w.r.t. a twist.

    Derivation. With ``ξ = [ω, v]`` (rotation first, like
    :func:`~depthforge.geometry.se3.se3_exp`), ``exp(ξ) X ≈ X + ω × X + v``, so
    ``∂X'/∂ξ = [−[X]× | I₃]`` (3×6). The normalised coordinates ``x = X/Z, y = Y/Z`` have
    ``∂(x, y)/∂X = (1/Z) [[1, 0, −x], [0, 1, −y]]``. Multiplying, with ``ρ = 1/Z``::

        ∂x/∂ξ = [ −xy,      1 + x²,  −y,   ρ,  0,  −ρx ]
        ∂y/∂ξ = [ −(1 + y²),  xy,     x,   0,  ρ,  −ρy ]

    (DDVO ``compute_dIdp``, ``dxdp``/``dydp``). Pixels are ``[u, v] = A [x, y] + c`` with ``A`` the
    upper-left 2×2 of ``K`` (focal lengths and skew), so the pixel Jacobian is ``A · ∂(x, y)/∂ξ``.

    Args:
        points: ``(B, 3, ...)`` camera-frame points in metres (``Z > 0``).
        K: ``(B, 3, 3)`` or ``(3, 3)`` intrinsics in pixels.

    Returns:
        ``(B, 2, 6, ...)`` pixels per unit twist (per radian for ``ω``, per metre for ``v``).

    Example:
        >>> K = torch.tensor([[100.0, 0, 0], [0, 100.0, 0], [0, 0, 1]])
        >>> J = projection_jacobian(torch.tensor([[[0.0], [0.0], [2.0]]]), K)
        >>> J[0, 0, :, 0].tolist()  # a point on the axis at 2 m: du/dv_x = f/Z = 50 px/m
        [0.0, 100.0, 0.0, 50.0, 0.0, 0.0]
    """
    if points.ndim < 3 or points.shape[1] != 3:
        raise ValueError(f"points must be (B, 3, ...), got {tuple(points.shape)}")
    b = points.shape[0]
    K = as_batch_matrix("K", K.to(points), 3, b)
    rho = 1.0 / points[:, 2]
    x, y = points[:, 0] * rho, points[:, 1] * rho
    zero = torch.zeros_like(x)
    row_x = torch.stack([-x * y, 1 + x * x, -y, rho, zero, -rho * x], dim=1)
    row_y = torch.stack([-(1 + y * y), x * y, x, zero, rho, -rho * y], dim=1)
    normalised = torch.stack([row_x, row_y], dim=1)  # (B, 2, 6, ...)
    return torch.einsum("bij,bj...->bi...", K[:, :2, :2], normalised)


def _check_inputs(target, source, depth_t, K, T_t_to_s) -> tuple[torch.Tensor, torch.Tensor]:
    if target.ndim != 4:
        raise ValueError(f"target must be (B, C, H, W), got {tuple(target.shape)}")
    if source.shape != target.shape:
        raise ValueError(
            f"source {tuple(source.shape)} must have the shape of target {tuple(target.shape)}"
        )
    b, _, h, w = target.shape
    if depth_t.shape != (b, 1, h, w):
        raise ValueError(
            f"depth_t must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(depth_t.shape)}"
        )
    return (
        as_batch_matrix("K", K.to(target), 3, b),
        as_batch_matrix("T_t_to_s", T_t_to_s.to(target), 4, b),
    )


def _pyramid_level(
    target, source, depth_t, valid, K, level: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Target, source, depth, validity and K at ``1/2^level`` of the input resolution."""
    if level == 0:
        return target, source, depth_t, valid, K
    h, w = target.shape[-2:]
    size = (h >> level, w >> level)
    if min(size) < 2:
        raise ValueError(f"pyramid level {level} of a {h}×{w} image is smaller than 2×2 pixels")
    valid_f = valid.to(depth_t.dtype)
    inverse = torch.where(valid, 1.0 / torch.where(valid, depth_t, 1.0), 0.0)
    coverage = F.interpolate(valid_f, size=size, mode="area")
    inverse = F.interpolate(inverse, size=size, mode="area") / coverage.clamp(min=1e-12)
    valid_l = coverage > 0.5
    depth_l = torch.where(valid_l, 1.0 / torch.where(valid_l, inverse, 1.0), 1.0)
    K_l = scale_intrinsics(K, size[1] / w, size[0] / h)
    area = lambda image: F.interpolate(image, size=size, mode="area")  # noqa: E731
    return area(target), area(source), depth_l, valid_l, K_l


def _masked_residual(target, source, depth, valid, K, T) -> tuple[torch.Tensor, torch.Tensor]:
    """``(residual (B, C, H, W), weight (B, 1, H, W))``: ``I_s(warp) − I_t`` where usable, else 0."""
    warped, inside = synthesize_view(source, depth, K, T, align_corners=False)
    weight = (inside & valid).to(target.dtype)
    return (warped - target) * weight, weight


def refine_pose(
    target: torch.Tensor,
    source: torch.Tensor,
    depth_t: torch.Tensor,
    K: torch.Tensor,
    T_t_to_s: torch.Tensor,
    *,
    iterations: int = 10,
    levels: int = 1,
    damping: float = 1e-4,
    min_in_view: float = 0.5,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Refine ``T_{t→s}`` by inverse-compositional Gauss-Newton on the photometric error (DDVO).

    Differentiable w.r.t. ``depth_t``, the images, ``K`` and the initial pose (only the choice of
    the accepted iterate is discrete). See the module docstring for the algorithm and where it
    differs from the DDVO code.

    Args:
        target: ``(B, C, H, W)`` target image in ``[0, 1]`` (C = 3 or 1).
        source: ``(B, C, H, W)`` source image.
        depth_t: ``(B, 1, H, W)`` target z-depth in metres (non-positive pixels are ignored).
        K: ``(3, 3)`` or ``(B, 3, 3)`` intrinsics in pixels.
        T_t_to_s: ``(4, 4)`` or ``(B, 4, 4)`` initial target-camera → source-camera transform
            (the convention of :func:`~depthforge.geometry.warp.reproject`).
        iterations: Gauss-Newton steps per pyramid level (DDVO fine-tuning: 10).
        levels: pyramid levels, coarse to fine (1 = full resolution only, as DDVO fine-tuning).
        damping: Marquardt factor ``λ`` in ``H + λ·diag(H)`` (0 = DDVO's plain Gauss-Newton).
        min_in_view: stop a sample once fewer than this fraction of its usable pixels (valid
            depth, inside ``mask``) project inside the source (DDVO: 0.5).
        mask: optional ``(B, 1, H, W)`` bool, target pixels allowed in the objective.

    Returns:
        ``(B, 4, 4)`` refined ``T_{t→s}``.

    Example:
        >>> target = torch.rand(1, 1, 12, 16)
        >>> K = torch.tensor([[20.0, 0, 7.5], [0, 20.0, 5.5], [0, 0, 1]])
        >>> T = refine_pose(target, target, torch.ones(1, 1, 12, 16), K, torch.eye(4))
        >>> torch.allclose(T, torch.eye(4), atol=1e-5)
        True
    """
    K, T = _check_inputs(target, source, depth_t, K, T_t_to_s)
    if iterations < 0 or levels < 1:
        raise ValueError(f"iterations must be ≥ 0 and levels ≥ 1, got {iterations} and {levels}")
    valid = depth_t > 0
    if mask is not None:
        if mask.shape != depth_t.shape or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor of shape {tuple(depth_t.shape)}")
        valid = valid & mask
    b = target.shape[0]
    eye6 = torch.eye(6, dtype=target.dtype, device=target.device).expand(b, 6, 6)
    ridge = torch.finfo(target.dtype).eps * eye6
    for level in reversed(range(levels)):
        tgt, src, depth, ok, K_l = _pyramid_level(target, source, depth_t, valid, K, level)
        grad_u, grad_v = central_gradients(tgt)
        J_pix = projection_jacobian(backproject(depth, K_l), K_l)  # (B, 2, 6, H, W)
        # Inverse compositional: ∇I_t · ∂π/∂ξ, fixed for the level; (B, C, 6, H, W) → (B, 6, N)
        J = grad_u[:, :, None] * J_pix[:, None, 0] + grad_v[:, :, None] * J_pix[:, None, 1]
        J = J.transpose(1, 2).flatten(2)
        best_T, best_cost = T, torch.full((b,), float("inf"), device=T.device, dtype=T.dtype)
        active = torch.ones(b, dtype=torch.bool, device=T.device)
        usable = ok.flatten(1).sum(1).clamp(min=1)
        for step in range(iterations + 1):
            residual, weight = _masked_residual(tgt, src, depth, ok, K_l, T)
            count = weight.flatten(1).sum(1)
            cost = residual.detach().pow(2).flatten(1).sum(1) / count.clamp(min=1)
            in_view = count / usable  # of the pixels with depth (and mask)
            active = active & (cost < best_cost) & (in_view >= min_in_view)
            best_T = torch.where(active[:, None, None], T, best_T)
            best_cost = torch.where(active, cost, best_cost)
            if step == iterations or not bool(active.any()):
                break
            weighted_J = J * weight.expand_as(residual).flatten(1)[:, None]
            hessian = weighted_J @ J.transpose(1, 2)
            gradient = weighted_J @ residual.flatten(1)[..., None]
            hessian = hessian + damping * torch.diag_embed(hessian.diagonal(dim1=1, dim2=2))
            hessian = hessian + ridge  # H = 0 on a flat image (then g = 0 too): a zero step
            hessian = torch.where(active[:, None, None], hessian, eye6)
            twist = torch.linalg.solve(hessian, gradient)[..., 0] * active[:, None]
            T = T @ se3_exp(-twist)  # T · exp(ξ)⁻¹, the inverse-compositional update
        T = best_T
    return T


class DirectPoseRefiner(nn.Module):
    """Module form of :func:`refine_pose` holding its settings (no parameters)."""

    def __init__(
        self, iterations: int = 10, levels: int = 1, damping: float = 1e-4, min_in_view: float = 0.5
    ) -> None:
        super().__init__()
        self.iterations, self.levels = iterations, levels
        self.damping, self.min_in_view = damping, min_in_view

    def forward(self, target, source, depth_t, K, T_t_to_s, mask=None):
        return refine_pose(
            target,
            source,
            depth_t,
            K,
            T_t_to_s,
            iterations=self.iterations,
            levels=self.levels,
            damping=self.damping,
            min_in_view=self.min_in_view,
            mask=mask,
        )
