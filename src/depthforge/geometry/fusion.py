"""Depth-from-gradients fusion: combine a depth estimate with a depth-gradient estimate.

Li, Klein & Yao (ICCV 2017, "A Two-Streamed Network for Estimating Fine-Scaled Depth Maps from
Single RGB Images") fuse the depth stream D̂ and the gradient stream G = (Gx, Gy) by

    D* = argmin_D  Σ_p φ(D_p − D̂_p) + α Σ_p [φ(∇x D_p − Gx_p) + φ(∇y D_p − Gy_p)].

The exact penalty φ and α of the paper are not verified here (no official code is known, and
the paper's text was not at hand); both are arguments. Two solvers:

* ``phi = x²`` (:func:`fuse_depth_gradients`): the normal equations are the screened-Poisson system
  ``(I + α(DxᵀDx + DyᵀDy)) D = D̂ + α(DxᵀGx + DyᵀGy)``. With forward differences and Neumann
  boundaries ``DxᵀDx`` and ``DyᵀDy`` are 1-D path-graph Laplacians, diagonalised by the orthonormal
  DCT-II with eigenvalues ``2 − 2 cos(π k / N)``, so the solve is two DCTs and a division: exact,
  O(HW log HW), vectorised over the batch and differentiable (usable as a layer).
* Charbonnier ``φ(x) = sqrt(x² + ε²)`` (:func:`fuse_depth_gradients_robust`): iteratively
  reweighted least squares; each step is a *weighted* screened-Poisson system, which the DCT no
  longer diagonalises, so it is solved by preconditioned conjugate gradients with the unweighted
  DCT solve (scalar mean weights) as preconditioner.

Convention: ``(∇x D)[v, u] = D[v, u+1] − D[v, u]`` for ``u < W − 1`` and 0 in the last column
(likewise ``∇y`` along rows), so the last column of ``Gx`` and the last row of ``Gy`` are ignored.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_inputs(depth: torch.Tensor, grad_x: torch.Tensor, grad_y: torch.Tensor) -> None:
    if depth.ndim != 4 or depth.shape[1] != 1:
        raise ValueError(f"depth must be (B, 1, H, W), got {tuple(depth.shape)}")
    for name, g in (("grad_x", grad_x), ("grad_y", grad_y)):
        if g.shape != depth.shape:
            raise ValueError(f"{name} must match depth {tuple(depth.shape)}, got {tuple(g.shape)}")


def dct_ii(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Orthonormal DCT-II along ``dim`` via one FFT (Makhoul 1980); equals
    ``scipy.fft.dct(x, type=2, norm="ortho")``. Differentiable, any leading shape."""
    x = x.movedim(dim, -1)
    n = x.shape[-1]
    # Even samples, then odd samples reversed: the DCT becomes a phase-shifted FFT.
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    k = torch.arange(n, device=x.device, dtype=x.dtype)
    phase = torch.polar(torch.ones_like(k), -math.pi * k / (2 * n))
    y = (torch.fft.fft(v) * phase).real
    scale = torch.full_like(k, math.sqrt(2.0 / n))
    scale[0] = math.sqrt(1.0 / n)
    return (y * scale).movedim(-1, dim)


def idct_ii(y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Inverse of :func:`dct_ii` (the orthonormal DCT-III) along ``dim`` via one inverse FFT."""
    y = y.movedim(dim, -1)
    n = y.shape[-1]
    k = torch.arange(n, device=y.device, dtype=y.dtype)
    scale = torch.full_like(k, math.sqrt(n / 2.0))
    scale[0] = math.sqrt(float(n))
    c = y * scale  # c_k = Re(e^{-iπk/2N} V_k) with V = fft(v)
    # V_k = e^{iπk/2N} (c_k − i c_{N−k}), c_N := 0 (from the Hermitian symmetry of a real FFT).
    c_rev = torch.cat([torch.zeros_like(c[..., :1]), c[..., 1:].flip(-1)], dim=-1)
    phase = torch.polar(torch.ones_like(k), math.pi * k / (2 * n))
    v = torch.fft.ifft(torch.complex(c, -c_rev) * phase).real
    half = (n + 1) // 2
    x = torch.empty_like(v)
    x[..., ::2] = v[..., :half]
    x[..., 1::2] = v[..., half:].flip(-1)
    return x.movedim(-1, dim)


def dct_matrix(n: int, like: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` orthonormal DCT-II matrix ``C[k, m] = s_k cos(π k (2m + 1) / 2N)`` (s_0 = √(1/N),
    s_k = √(2/N)); ``x @ Cᵀ`` is :func:`dct_ii` along the last axis and ``y @ C`` its inverse.

    O(N) per sample instead of O(log N), but made of ops ONNX can export (no complex numbers).
    """
    k = torch.arange(n, device=like.device, dtype=like.dtype)
    c = torch.cos(math.pi * k[:, None] * (2 * k[None, :] + 1) / (2 * n))
    scale = torch.full_like(k, math.sqrt(2.0 / n))
    scale[0] = math.sqrt(1.0 / n)
    return c * scale[:, None]


def forward_diff(depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(∇x D, ∇y D)``, each ``(B, 1, H, W)``: forward differences, 0 in the last column / row."""
    gx = torch.zeros_like(depth)
    gy = torch.zeros_like(depth)
    gx[..., :, :-1] = depth[..., :, 1:] - depth[..., :, :-1]
    gy[..., :-1, :] = depth[..., 1:, :] - depth[..., :-1, :]
    return gx, gy


def forward_diff_adjoint(grad_x: torch.Tensor, grad_y: torch.Tensor) -> torch.Tensor:
    """``Dxᵀ Gx + Dyᵀ Gy`` (a negative divergence) for the operator of :func:`forward_diff`."""
    gx = grad_x.clone()
    gy = grad_y.clone()
    gx[..., :, -1] = 0.0
    gy[..., -1, :] = 0.0
    out = -gx - gy
    out[..., :, 1:] += gx[..., :, :-1]
    out[..., 1:, :] += gy[..., :-1, :]
    return out


def _laplacian_eigenvalues(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """``(H, W)`` eigenvalues of DxᵀDx + DyᵀDy in the DCT-II basis: 4 − 2cos(πl/H) − 2cos(πk/W)."""
    ky = torch.arange(height, device=like.device, dtype=like.dtype)
    kx = torch.arange(width, device=like.device, dtype=like.dtype)
    lam_y = 2.0 - 2.0 * torch.cos(math.pi * ky / height)
    lam_x = 2.0 - 2.0 * torch.cos(math.pi * kx / width)
    return lam_y[:, None] + lam_x[None, :]


def solve_screened_poisson(
    rhs: torch.Tensor,
    alpha: float | torch.Tensor,
    screen: float | torch.Tensor = 1.0,
    method: str = "fft",
) -> torch.Tensor:
    """Solve ``(screen · I + α (DxᵀDx + DyᵀDy)) D = rhs`` exactly with the DCT-II.

    Args:
        rhs: ``(B, C, H, W)`` right-hand side.
        alpha: gradient weight ≥ 0; a float or a tensor broadcastable to ``(B, C, 1, 1)``.
        screen: data weight > 0; a float or a tensor broadcastable to ``(B, C, 1, 1)``.
        method: ``"fft"`` (:func:`dct_ii`, O(log N) per pixel) or ``"matrix"``
            (:func:`dct_matrix`; ONNX-exportable). Same result to rounding.

    Returns:
        ``(B, C, H, W)`` solution, same dtype/device as ``rhs``.
    """
    h, w = rhs.shape[-2:]
    denom = screen + alpha * _laplacian_eigenvalues(h, w, rhs)
    if method == "fft":
        spectrum = dct_ii(dct_ii(rhs, -1), -2)
        return idct_ii(idct_ii(spectrum / denom, -2), -1)
    if method == "matrix":
        cy, cx = dct_matrix(h, rhs), dct_matrix(w, rhs)
        spectrum = cy @ rhs @ cx.transpose(0, 1)
        return cy.transpose(0, 1) @ (spectrum / denom) @ cx
    raise ValueError(f"method must be 'fft' or 'matrix', got {method!r}")


def fuse_depth_gradients(
    depth: torch.Tensor,
    grad_x: torch.Tensor,
    grad_y: torch.Tensor,
    alpha: float = 1.0,
    method: str = "fft",
) -> torch.Tensor:
    """Least-squares fusion (φ = x²) of a depth map with target gradients, solved exactly.

    Minimises ``Σ (D − D̂)² + α Σ [(∇x D − Gx)² + (∇y D − Gy)²]`` (Li et al. 2017 fusion energy
    with a quadratic penalty) via the screened-Poisson normal equations, diagonal in the DCT-II
    basis. Differentiable in all inputs.

    Args:
        depth: ``(B, 1, H, W)`` depth estimate D̂ (any unit; the output has the same unit).
        grad_x: ``(B, 1, H, W)`` target horizontal forward differences (last column ignored).
        grad_y: ``(B, 1, H, W)`` target vertical forward differences (last row ignored).
        alpha: weight of the gradient term, ≥ 0.
        method: DCT implementation, see :func:`solve_screened_poisson`.

    Returns:
        ``(B, 1, H, W)`` fused depth D*.

    Example:
        >>> d = torch.rand(1, 1, 4, 5)
        >>> gx, gy = forward_diff(d)
        >>> torch.allclose(fuse_depth_gradients(d, gx, gy, alpha=3.0), d, atol=1e-5)
        True
    """
    _check_inputs(depth, grad_x, grad_y)
    if alpha < 0:
        raise ValueError(f"alpha must be ≥ 0, got {alpha}")
    rhs = depth + alpha * forward_diff_adjoint(grad_x, grad_y)
    return solve_screened_poisson(rhs, alpha, method=method)


def _per_image_sum(x: torch.Tensor) -> torch.Tensor:
    return x.sum(dim=(1, 2, 3), keepdim=True)


def fuse_depth_gradients_robust(
    depth: torch.Tensor,
    grad_x: torch.Tensor,
    grad_y: torch.Tensor,
    alpha: float = 1.0,
    eps: float = 1e-3,
    irls_iters: int = 10,
    cg_iters: int = 50,
    cg_tol: float = 1e-6,
) -> torch.Tensor:
    """Charbonnier fusion, ``φ(x) = sqrt(x² + ε²)``, by IRLS with DCT-preconditioned CG.

    Each IRLS step fixes the weights ``w = 1 / sqrt(r² + ε²)`` of the current residuals r (the
    majoriser of φ at r) and solves ``(W0 + α(DxᵀWxDx + DyᵀWyDy)) D = W0 D̂ + α(DxᵀWxGx + DyᵀWyGy)``
    by conjugate gradients preconditioned with the exact DCT solve of
    ``(mean(W0) I + α·mean(Wx, Wy) L)`` per image. Starts from the quadratic solution. The energy
    decreases monotonically (IRLS is a majorise-minimise scheme) up to the CG tolerance.

    Args:
        depth, grad_x, grad_y: ``(B, 1, H, W)`` as in :func:`fuse_depth_gradients`.
        alpha: gradient weight, ≥ 0.
        eps: Charbonnier smoothing, > 0, in the unit of ``depth``.
        irls_iters: reweighting steps.
        cg_iters: maximum CG iterations per step; ``cg_tol`` stops early on the relative residual.

    Returns:
        ``(B, 1, H, W)`` fused depth. Gradients flow through the unrolled iterations (memory grows
        with ``irls_iters · cg_iters``; wrap in ``torch.no_grad()`` for inference).
    """
    _check_inputs(depth, grad_x, grad_y)
    if alpha < 0 or eps <= 0:
        raise ValueError(f"need alpha ≥ 0 and eps > 0, got alpha={alpha}, eps={eps}")
    d = fuse_depth_gradients(depth, grad_x, grad_y, alpha)
    for _ in range(irls_iters):
        dx, dy = forward_diff(d)
        w0 = torch.rsqrt((d - depth) ** 2 + eps**2)
        wx = torch.rsqrt((dx - grad_x) ** 2 + eps**2)
        wy = torch.rsqrt((dy - grad_y) ** 2 + eps**2)
        wx = torch.cat([wx[..., :, :-1], torch.zeros_like(wx[..., :, -1:])], dim=-1)
        wy = torch.cat([wy[..., :-1, :], torch.zeros_like(wy[..., -1:, :])], dim=-2)

        def apply_system(x, w0=w0, wx=wx, wy=wy):
            gx, gy = forward_diff(x)
            return w0 * x + alpha * forward_diff_adjoint(wx * gx, wy * gy)

        rhs = w0 * depth + alpha * forward_diff_adjoint(wx * grad_x, wy * grad_y)
        n = depth[0].numel()
        screen = _per_image_sum(w0) / n
        smooth = alpha * 0.5 * (_per_image_sum(wx) + _per_image_sum(wy)) / n

        def precondition(r, screen=screen, smooth=smooth):
            return solve_screened_poisson(r, smooth, screen)

        d = _pcg(apply_system, rhs, d, precondition, cg_iters, cg_tol)
    return d


def _pcg(apply_a, rhs, x0, apply_m_inv, max_iters: int, tol: float) -> torch.Tensor:
    """Preconditioned conjugate gradients, batched: one independent SPD system per image."""
    x = x0
    r = rhs - apply_a(x)
    z = apply_m_inv(r)
    p = z
    rz = _per_image_sum(r * z)
    rhs_norm = _per_image_sum(rhs * rhs).sqrt().clamp_min(torch.finfo(rhs.dtype).tiny)
    for _ in range(max_iters):
        if bool((_per_image_sum(r * r).sqrt() <= tol * rhs_norm).all()):
            break
        ap = apply_a(p)
        step = rz / _per_image_sum(p * ap).clamp_min(torch.finfo(rhs.dtype).tiny)
        x = x + step * p
        r = r - step * ap
        z = apply_m_inv(r)
        rz_new = _per_image_sum(r * z)
        p = z + (rz_new / rz.clamp_min(torch.finfo(rhs.dtype).tiny)) * p
        rz = rz_new
    return x


def fusion_energy(
    fused: torch.Tensor,
    depth: torch.Tensor,
    grad_x: torch.Tensor,
    grad_y: torch.Tensor,
    alpha: float,
    eps: float | None = None,
) -> torch.Tensor:
    """``(B,)`` fusion energy of Li et al. 2017: quadratic φ when ``eps`` is None, else Charbonnier."""

    def phi(x: torch.Tensor) -> torch.Tensor:
        return x**2 if eps is None else torch.sqrt(x**2 + eps**2)

    dx, dy = forward_diff(fused)
    data = phi(fused - depth).sum(dim=(1, 2, 3))
    smooth_x = phi(dx - grad_x)[..., :, :-1].sum(dim=(1, 2, 3))
    smooth_y = phi(dy - grad_y)[..., :-1, :].sum(dim=(1, 2, 3))
    return data + alpha * (smooth_x + smooth_y)


class DepthGradientFusion(nn.Module):
    """Layer form of :func:`fuse_depth_gradients` (exact quadratic fusion, differentiable).

    Args:
        alpha: gradient weight (a fixed hyper-parameter, not learned).

    Input: depth, grad_x, grad_y each ``(B, 1, H, W)``; output ``(B, 1, H, W)``. Uses the FFT DCT,
    and the matrix DCT while being exported to ONNX (which has no complex FFT).
    """

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(
        self, depth: torch.Tensor, grad_x: torch.Tensor, grad_y: torch.Tensor
    ) -> torch.Tensor:
        method = "matrix" if torch.onnx.is_in_onnx_export() else "fft"
        return fuse_depth_gradients(depth, grad_x, grad_y, self.alpha, method)
