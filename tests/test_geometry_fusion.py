"""Specification of the depth-from-gradients fusion solver (Li, Klein & Yao 2017 energy)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg
import torch

from depthforge.geometry.fusion import (
    DepthGradientFusion,
    dct_ii,
    forward_diff,
    forward_diff_adjoint,
    fuse_depth_gradients,
    fuse_depth_gradients_robust,
    fusion_energy,
    idct_ii,
)


def sparse_forward_diff(n: int) -> scipy.sparse.csr_matrix:
    """n×n forward difference with a zero last row (Neumann), built independently of the code."""
    d = scipy.sparse.lil_matrix((n, n))
    for i in range(n - 1):
        d[i, i] = -1.0
        d[i, i + 1] = 1.0
    return d.tocsr()


def sparse_reference(depth: np.ndarray, gx: np.ndarray, gy: np.ndarray, alpha: float):
    """Direct sparse solve of (I + α(DxᵀDx + DyᵀDy)) D = D̂ + α(DxᵀGx + DyᵀGy), row-major."""
    h, w = depth.shape
    dx = scipy.sparse.kron(scipy.sparse.identity(h), sparse_forward_diff(w))
    dy = scipy.sparse.kron(sparse_forward_diff(h), scipy.sparse.identity(w))
    a = scipy.sparse.identity(h * w) + alpha * (dx.T @ dx + dy.T @ dy)
    b = depth.ravel() + alpha * (dx.T @ gx.ravel() + dy.T @ gy.ravel())
    return scipy.sparse.linalg.spsolve(a.tocsc(), b).reshape(h, w)


@pytest.mark.parametrize("n", [1, 2, 7, 8])
def test_dct_matches_scipy_orthonormal_dct_ii_and_inverts(n):
    x = torch.randn(3, 4, n, dtype=torch.float64)
    expected = scipy.fft.dct(x.numpy(), type=2, norm="ortho", axis=-1)
    np.testing.assert_allclose(dct_ii(x).numpy(), expected, atol=1e-12)
    torch.testing.assert_close(idct_ii(dct_ii(x)), x, atol=1e-12, rtol=0)
    along_rows = scipy.fft.dct(x.numpy(), type=2, norm="ortho", axis=-2)
    np.testing.assert_allclose(dct_ii(x, dim=-2).numpy(), along_rows, atol=1e-12)


def test_forward_difference_values_by_hand_and_adjoint_identity():
    d = torch.tensor([[[[1.0, 4.0, 9.0], [2.0, 2.0, 0.0]]]])
    gx, gy = forward_diff(d)
    assert gx.tolist() == [[[[3.0, 5.0, 0.0], [0.0, -2.0, 0.0]]]]
    assert gy.tolist() == [[[[1.0, -2.0, -9.0], [0.0, 0.0, 0.0]]]]
    u = torch.randn(2, 1, 5, 6, dtype=torch.float64)
    px, py = torch.randn_like(u), torch.randn_like(u)
    ux, uy = forward_diff(u)
    lhs = (ux * px).sum() + (uy * py).sum()
    torch.testing.assert_close(lhs, (u * forward_diff_adjoint(px, py)).sum())


@pytest.mark.parametrize("shape", [(6, 9), (7, 5)])
def test_exact_solve_matches_sparse_direct_solve(shape):
    gen = torch.Generator().manual_seed(0)
    depth = torch.rand(1, 1, *shape, generator=gen, dtype=torch.float64) * 5
    gx = torch.randn(1, 1, *shape, generator=gen, dtype=torch.float64)
    gy = torch.randn(1, 1, *shape, generator=gen, dtype=torch.float64)
    alpha = 2.5
    expected = sparse_reference(depth[0, 0].numpy(), gx[0, 0].numpy(), gy[0, 0].numpy(), alpha)
    got = fuse_depth_gradients(depth, gx, gy, alpha)[0, 0].numpy()
    assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max()
    # float32 (the usual layer dtype) is accurate to single precision.
    got32 = fuse_depth_gradients(depth.float(), gx.float(), gy.float(), alpha)[0, 0].numpy()
    assert np.abs(got32 - expected).max() <= 1e-5 * np.abs(expected).max()


def test_consistent_inputs_are_a_fixed_point_and_alpha_zero_returns_the_depth():
    depth = torch.rand(2, 1, 5, 8, dtype=torch.float64)
    gx, gy = forward_diff(depth)
    torch.testing.assert_close(fuse_depth_gradients(depth, gx, gy, alpha=10.0), depth)
    other = torch.randn_like(depth)
    torch.testing.assert_close(fuse_depth_gradients(depth, other, other, alpha=0.0), depth)


def test_zero_gradients_with_large_alpha_give_the_mean_depth():
    # As α → ∞ with G = 0 the minimiser is the constant closest to D̂: its mean.
    depth = torch.rand(1, 1, 4, 6, dtype=torch.float64)
    zero = torch.zeros_like(depth)
    fused = fuse_depth_gradients(depth, zero, zero, alpha=1e9)
    torch.testing.assert_close(
        fused, torch.full_like(depth, depth.mean().item()), atol=1e-6, rtol=0
    )


def test_batch_is_solved_independently():
    depth = torch.rand(3, 1, 5, 7, dtype=torch.float64)
    gx, gy = torch.randn_like(depth), torch.randn_like(depth)
    batched = fuse_depth_gradients(depth, gx, gy, 1.5)
    for i in range(3):
        single = fuse_depth_gradients(depth[i : i + 1], gx[i : i + 1], gy[i : i + 1], 1.5)
        torch.testing.assert_close(batched[i : i + 1], single)


def test_exact_layer_gradcheck_float64():
    depth = torch.rand(2, 1, 4, 5, dtype=torch.float64, requires_grad=True)
    gx = torch.randn(2, 1, 4, 5, dtype=torch.float64, requires_grad=True)
    gy = torch.randn(2, 1, 4, 5, dtype=torch.float64, requires_grad=True)
    layer = DepthGradientFusion(alpha=0.7)
    assert torch.autograd.gradcheck(layer, (depth, gx, gy))


def test_robust_fusion_reaches_the_charbonnier_minimum():
    gen = torch.Generator().manual_seed(1)
    depth = torch.rand(1, 1, 6, 7, generator=gen, dtype=torch.float64) * 3
    gx = 0.3 * torch.randn(1, 1, 6, 7, generator=gen, dtype=torch.float64)
    gy = 0.3 * torch.randn(1, 1, 6, 7, generator=gen, dtype=torch.float64)
    alpha, eps = 2.0, 0.05
    fused = fuse_depth_gradients_robust(depth, gx, gy, alpha, eps, irls_iters=200, cg_tol=1e-10)

    def energy_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        d = torch.from_numpy(flat).reshape(1, 1, 6, 7).requires_grad_(True)
        e = fusion_energy(d, depth, gx, gy, alpha, eps).sum()
        e.backward()
        return float(e.detach()), d.grad.numpy().ravel()

    reference = scipy.optimize.minimize(
        energy_and_gradient,
        depth.numpy().ravel(),
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10000},
    )
    ours = float(fusion_energy(fused, depth, gx, gy, alpha, eps))
    assert ours <= reference.fun * (1 + 1e-7)
    np.testing.assert_allclose(fused.numpy().ravel(), reference.x, atol=2e-3)


def test_robust_fusion_rejects_outliers_that_bias_the_quadratic_fusion():
    # True depth is a ramp; the depth stream has two gross outliers, the gradients are exact.
    v, u = torch.meshgrid(torch.arange(8.0), torch.arange(10.0), indexing="ij")
    truth = (1.0 + 0.1 * u + 0.05 * v)[None, None].double()
    gx, gy = forward_diff(truth)
    noisy = truth.clone()
    noisy[0, 0, 2, 3] += 5.0
    noisy[0, 0, 6, 8] -= 4.0
    quadratic = fuse_depth_gradients(noisy, gx, gy, alpha=1.0)
    robust = fuse_depth_gradients_robust(noisy, gx, gy, alpha=1.0, eps=1e-3, irls_iters=30)
    assert (quadratic - truth).abs().max() > 0.5
    assert (robust - truth).abs().max() < 0.05


def test_bad_inputs_raise_naming_the_argument():
    depth = torch.zeros(1, 1, 5, 5)
    with pytest.raises(ValueError, match="grad_x must match"):
        fuse_depth_gradients(depth, torch.zeros(1, 1, 4, 4), depth)
    with pytest.raises(ValueError, match=r"depth must be \(B, 1, H, W\)"):
        fuse_depth_gradients(depth[0], depth[0], depth[0])
    with pytest.raises(ValueError, match="alpha must be"):
        fuse_depth_gradients(depth, depth, depth, alpha=-1.0)
    with pytest.raises(ValueError, match="eps > 0"):
        fuse_depth_gradients_robust(depth, depth, depth, eps=0.0)
