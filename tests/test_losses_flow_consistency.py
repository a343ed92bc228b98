"""GeoNet flow terms: rigid flow, forward-backward consistency, flow warping, ResFlowNet."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depthforge.geometry.warp import full_flow, rigid_flow, synthesize_view, warp_by_flow
from depthforge.losses.flow_consistency import (
    flow_consistency_loss,
    flow_smoothness,
    flow_warp_loss,
    forward_backward_check,
    geonet_flow_loss,
)
from depthforge.models.resflow import ResFlowNet, ResFlowNetConfig
from depthforge.synth import SynthDataset

F, H, W = 40.0, 48, 64
K = torch.tensor([[F, 0.0, (W - 1) / 2], [0.0, F, (H - 1) / 2], [0.0, 0.0, 1.0]])


def _translation(x: float) -> torch.Tensor:
    T = torch.eye(4)
    T[0, 3] = x
    return T


def test_rigid_flow_of_a_fronto_parallel_plane_under_x_translation_is_f_t_over_z():
    # The source camera sits t = 0.3 m to the right: X_s = X_t − t, so u_s − u_t = −f·t/z.
    depth = torch.full((1, 1, H, W), 2.5)
    flow = rigid_flow(depth, K, _translation(-0.3))
    torch.testing.assert_close(flow[:, 0], torch.full((1, H, W), -F * 0.3 / 2.5))
    torch.testing.assert_close(flow[:, 1], torch.zeros(1, H, W))


def test_warping_by_the_rigid_flow_is_the_view_synthesis_of_the_one_warp():
    gen = torch.Generator().manual_seed(0)
    source = torch.rand(2, 3, H, W, generator=gen)
    depth = 1.0 + 3.0 * torch.rand(2, 1, H, W, generator=gen)
    T = torch.eye(4)
    T[:3, 3] = torch.tensor([0.05, -0.02, 0.1])
    expected, _ = synthesize_view(source, depth, K, T)
    torch.testing.assert_close(warp_by_flow(source, rigid_flow(depth, K, T)), expected)


def geonet_bilinear_sampler(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """GeoNet ``utils.py::bilinear_sampler`` written out in NumPy (float64): the four neighbour
    indices are clipped into the image while the weights use the unclipped coordinate.

    image ``(B, C, H, W)``; x, y ``(B, H_out, W_out)`` pixel coordinates → ``(B, C, H_out, W_out)``.
    """
    height, width = image.shape[-2:]
    x0, y0 = np.floor(x), np.floor(y)
    x0s, x1s = np.clip(x0, 0, width - 1), np.clip(x0 + 1, 0, width - 1)
    y0s, y1s = np.clip(y0, 0, height - 1), np.clip(y0 + 1, 0, height - 1)
    wx0, wx1, wy0, wy1 = x1s - x, x - x0s, y1s - y, y - y0s
    b = np.arange(len(image))[:, None, None]

    def pick(yy, xx):
        return np.moveaxis(image[b, :, yy.astype(int), xx.astype(int)], -1, 1)

    return (
        (wx0 * wy0)[:, None] * pick(y0s, x0s)
        + (wx0 * wy1)[:, None] * pick(y1s, x0s)
        + (wx1 * wy0)[:, None] * pick(y0s, x1s)
        + (wx1 * wy1)[:, None] * pick(y1s, x1s)
    )


def test_warp_by_flow_is_geonets_sampler_including_within_one_pixel_of_the_border():
    h, w = 5, 7  # the sampled image; the flow lives on a grid of sample positions
    edges = [-1.5, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.25]
    xs = np.array(edges + [w - 2.0, w - 1.5, w - 1 - 1e-3, w - 1.0, w - 1 + 1e-3, w - 0.5, w + 0.7])
    ys = np.array(edges + [h - 2.0, h - 1.5, h - 1 - 1e-3, h - 1.0, h - 1 + 1e-3, h - 0.5, h + 0.7])
    gen = torch.Generator().manual_seed(3)
    image = torch.rand(2, 3, h, w, generator=gen, dtype=torch.float64)
    y_pos, x_pos = np.meshgrid(ys, xs, indexing="ij")
    x_pos = np.stack([x_pos, np.random.default_rng(0).uniform(-2, w + 1, x_pos.shape)])
    y_pos = np.stack([y_pos, np.random.default_rng(1).uniform(-2, h + 1, y_pos.shape)])
    v, u = np.meshgrid(np.arange(len(ys)), np.arange(len(xs)), indexing="ij")
    flow = torch.from_numpy(np.stack([x_pos - u, y_pos - v], axis=1))  # (2, 2, 15, 15)
    expected = geonet_bilinear_sampler(image.numpy(), x_pos, y_pos)
    got = warp_by_flow(image, flow)
    torch.testing.assert_close(got, torch.from_numpy(expected), rtol=0, atol=1e-12)
    # 0 exactly where a position leaves [0, W−1) × [0, H−1): on the first grid 7 of the 15
    # values of x (0 … W − 1 − 1e-3) and 7 of y are inside.
    inside = (x_pos >= 0) & (x_pos < w - 1) & (y_pos >= 0) & (y_pos < h - 1)
    assert inside[0].sum() == 7 * 7
    assert got.permute(1, 0, 2, 3)[:, torch.from_numpy(~inside)].abs().max() < 1e-12
    # grid_sample's zero padding blends the edge pixel with 0 there instead: not GeoNet.
    zeros = warp_by_flow(image, flow, padding_mode="zeros")
    assert (zeros - got).abs().max() > 0.1


def _plane_with_occluder(shift_columns: int) -> torch.Tensor:
    """Depth 4 m everywhere, 1 m on a square (rows 12–35, columns 24–39 shifted)."""
    depth = torch.full((1, 1, H, W), 4.0)
    depth[..., 12:36, 24 + shift_columns : 40 + shift_columns] = 1.0
    return depth


@pytest.fixture(scope="module")
def occluder_pair():
    """A square 1 m away in front of a wall 4 m away; the camera moves 0.2 m right.

    f·t/z is 8 px on the square and 2 px on the wall, both leftwards, so in the source the
    square covers columns 16–31. Wall pixels of the target at columns 18–23 (rows 12–35) land
    on the square in the source: occluded (Δf = −2 + 8 = 6 px > α = 3). Symmetrically, wall
    pixels of the source at columns 32–37 are hidden behind the square in the target.
    """
    T = _translation(-0.2)
    depth_t, depth_s = _plane_with_occluder(0), _plane_with_occluder(-8)
    # The flows are whole pixels; rounding drops float round-off that would put row 0's samples
    # at y = −2e-6, outside GeoNet's sampler.
    flow_fwd = rigid_flow(depth_t, K, T).round()
    flow_bwd = rigid_flow(depth_s, K, torch.linalg.inv(T)).round()
    occluded_t = torch.zeros(1, 1, H, W, dtype=torch.bool)
    occluded_t[..., 12:36, 18:24] = True
    occluded_s = torch.zeros(1, 1, H, W, dtype=torch.bool)
    occluded_s[..., 12:36, 32:38] = True
    return flow_fwd, flow_bwd, occluded_t, occluded_s


def _lands_inside(flow: torch.Tensor) -> torch.Tensor:
    """(H, W) bool: p + flow(p) lies in [0, W − 1) × [0, H − 1), where GeoNet's sampler is not 0."""
    v, u = torch.meshgrid(torch.arange(float(H)), torch.arange(float(W)), indexing="ij")
    x, y = u + flow[0, 0], v + flow[0, 1]
    return (x >= 0) & (x < W - 1) & (y >= 0) & (y < H - 1)


def test_forward_backward_check_flags_exactly_the_occluded_pixels(occluder_pair):
    flow_fwd, flow_bwd, occluded_t, occluded_s = occluder_pair
    difference, consistent = forward_backward_check(flow_fwd, flow_bwd)
    # Pixels leaving the view (columns 0–1, the last row) sample 0 in GeoNet: Δf = f = 2 px < α.
    assert torch.equal(consistent, ~occluded_t)
    inside = _lands_inside(flow_fwd)
    assert inside.sum() == H * W - 2 * H - (W - 2)
    assert difference[:, :, ~occluded_t[0, 0] & inside].abs().max() < 1e-4  # round-off only
    torch.testing.assert_close(difference[:, :, ~inside], flow_fwd[:, :, ~inside])
    torch.testing.assert_close(difference[:, 0][occluded_t[:, 0]], torch.full((144,), 6.0))
    assert torch.equal(forward_backward_check(flow_bwd, flow_fwd)[1], ~occluded_s)


def test_condition_uses_the_larger_of_alpha_and_beta_times_the_flow():
    # 4 × 256 image; a flow of +100 px keeps columns 0–154 of rows 0–2 inside the view.
    flow_fwd = torch.zeros(1, 2, 4, 256)
    flow_fwd[:, 0] = 100.0  # β·|f| = 5 px > α = 3
    flow_bwd = torch.full((1, 2, 4, 256), 0.0)
    flow_bwd[:, 0] = -96.0  # |Δf| = 4: inside max(3, 5)
    assert forward_backward_check(flow_fwd, flow_bwd)[1][..., :3, :155].all()
    flow_bwd[:, 0] = -94.0  # |Δf| = 6: outside
    assert not forward_backward_check(flow_fwd, flow_bwd)[1].any()
    flow_fwd[:, 0], flow_bwd[:, 0] = 10.0, -7.5  # β·|f| = 0.5 < α; |Δf| = 2.5 < 3
    assert forward_backward_check(flow_fwd, flow_bwd)[1][..., :3, :245].all()
    # Leaving the view samples 0: Δf = f = 10 px > max(3, 0.5), so GeoNet calls it occluded.
    assert not forward_backward_check(flow_fwd, flow_bwd)[1][..., 3, :].any()
    assert not forward_backward_check(flow_fwd, flow_bwd)[1][..., 245:].any()


def test_consistency_loss_of_an_inverse_pair_counts_only_pixels_leaving_the_view(occluder_pair):
    flow_fwd, flow_bwd, occluded_t, _ = occluder_pair
    consistent_pixels = H * W - 144  # per direction: all but the occluded ones
    # GeoNet's sampler gives 0 where p + f leaves [0, W−1) × [0, H−1): there Δf = f (2 px,
    # "consistent" since < α) and mean(|Δu|, |Δv|) = 1. Forward (f = −2): columns 0–1 and the
    # last row, 2·48 + 62 = 158 pixels; backward (f = +2): columns 61–63 and the last row,
    # 3·48 + 61 = 205 pixels. Occluded pixels are excluded.
    loss = flow_consistency_loss(flow_fwd, flow_bwd)
    expected = (158 + 205) / consistent_pixels / 2
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    perturbed = flow_bwd.clone()
    perturbed[:, 0, :, 44:] += 0.5  # Δu = 0.5 px on the right part: still consistent (< α)
    # forward: in-view target wall columns 46..63, rows 0..46 sample it → 0.25 on 18·47 pixels;
    # backward: source columns 44..60 in view → 0.25 on 17·47 pixels; leaving the view: columns
    # 61–63 (3·48 pixels) and the last row's columns 44–60 (17) now with f = 2.5 → 1.25, the
    # last row's columns 0–43 (44) still 1.
    forward = (0.25 * 18 * 47 + 158) / consistent_pixels
    backward = (0.25 * 17 * 47 + 1.25 * (3 * 48 + 17) + 44) / consistent_pixels
    loss = flow_consistency_loss(flow_fwd, perturbed)
    assert loss.item() == pytest.approx((forward + backward) / 2, rel=1e-4)


def test_synthetic_ground_truth_flows_are_consistent_on_visible_pixels():
    dataset = SynthDataset(size=(64, 48), scenes=2, frames=4, pairs=0)
    a, b = dataset[0], dataset[1]  # consecutive frames of scene 0, GT depth and poses
    T = torch.linalg.inv(b.pose) @ a.pose
    flow_fwd = rigid_flow(a.depth[None], a.K, T)
    flow_bwd = rigid_flow(b.depth[None], b.K, torch.linalg.inv(T))
    difference, consistent = forward_backward_check(flow_fwd, flow_bwd)
    norm = difference.norm(dim=1)
    # measured: mean |f| 1.58 px, median |Δf| 2e-4 px, 92 % of pixels under 0.1 px
    assert flow_fwd.norm(dim=1).mean() > 1.0
    assert norm.median() < 1e-2
    assert (norm < 0.1).float().mean() > 0.85
    # Pixels whose flow leaves [0, W−1) × [0, H−1) sample 0 (GeoNet): Δf = f there.
    v, u = torch.meshgrid(torch.arange(48.0), torch.arange(64.0), indexing="ij")
    x, y = u + flow_fwd[0, 0], v + flow_fwd[0, 1]
    inside = (x >= 0) & (x < 63) & (y >= 0) & (y < 47)
    assert consistent[0, 0][inside].all()
    torch.testing.assert_close(difference[0][:, ~inside], flow_fwd[0][:, ~inside])


def test_gradcheck_of_the_consistency_loss():
    gen = torch.Generator().manual_seed(4)
    flow_fwd = (0.3 + 0.4 * torch.rand(1, 2, 5, 6, generator=gen)).double().requires_grad_(True)
    flow_bwd = (-0.3 - 0.4 * torch.rand(1, 2, 5, 6, generator=gen)).double().requires_grad_(True)
    assert torch.autograd.gradcheck(flow_consistency_loss, (flow_fwd, flow_bwd), eps=1e-6)


def test_full_flow_warp_loss_is_zero_for_the_true_flow_and_grows_with_error():
    gen = torch.Generator().manual_seed(5)
    v, u = torch.meshgrid(torch.arange(float(H)), torch.arange(float(W)), indexing="ij")
    source = torch.stack([torch.sin(0.3 * u + 0.2 * v), torch.cos(0.25 * v), torch.sin(0.1 * u)])
    source = (0.5 + 0.4 * source)[None]
    rigid = torch.zeros(1, 2, H, W)
    rigid[:, 0] = 3.0
    residual = torch.zeros(1, 2, H, W)
    residual[:, 1] = -2.0  # a non-rigid part the rigid flow misses
    flow = full_flow(rigid, residual)
    target = warp_by_flow(source, flow)
    inner = torch.zeros(1, 1, H, W, dtype=torch.bool)
    inner[..., 4:-4, 4:-4] = True  # away from the border, where SSIM windows see padding
    assert flow_warp_loss(target, source, flow, inner).item() < 1e-6
    wrong = flow_warp_loss(target, source, rigid, inner)
    assert wrong.item() > 0.05
    noisy = flow + 0.5 * torch.randn(1, 2, H, W, generator=gen)
    assert 1e-3 < flow_warp_loss(target, source, noisy, inner).item() < wrong.item()


def test_flow_smoothness_is_zero_for_constant_flow_and_matches_a_hand_value():
    image = torch.zeros(1, 3, 4, 5)
    assert flow_smoothness(torch.full((1, 2, 4, 5), 7.0), image).item() == 0.0
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = torch.arange(5.0)  # ∂u/∂x = 1 everywhere, flat image: weight 1
    assert flow_smoothness(flow, image).item() == pytest.approx(0.5)  # (1 + 0) / 2 components


def test_geonet_flow_loss_weights_and_terms(occluder_pair):
    flow_fwd, flow_bwd, _, _ = occluder_pair
    gen = torch.Generator().manual_seed(6)
    target, source = torch.rand(1, 3, H, W, generator=gen), torch.rand(1, 3, H, W, generator=gen)
    terms = geonet_flow_loss(target, source, flow_fwd, flow_bwd + 0.3)
    expected = terms["flow_warp"] + 0.2 * terms["flow_smooth"] + 0.2 * terms["flow_consistency"]
    torch.testing.assert_close(terms["loss"], expected)
    assert terms["flow_consistency"] > 0
    no_check = geonet_flow_loss(target, source, flow_fwd, flow_bwd, consistency_weight=0.0)
    assert no_check["flow_consistency"].item() == 0.0


def test_resflownet_starts_at_zero_residual_and_learns_a_constant_shift():
    torch.manual_seed(0)
    net = ResFlowNet(ResFlowNetConfig(input_size=(8, 12), channels=(4, 8)))
    gen = torch.Generator().manual_seed(7)
    target, source = torch.rand(2, 3, 8, 12, generator=gen), torch.rand(2, 3, 8, 12, generator=gen)
    rigid = torch.randn(2, 2, 8, 12, generator=gen)
    residual = net(target, source, rigid)
    assert residual.shape == (2, 2, 8, 12) and residual.abs().max() == 0
    assert net.output_space is None
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-2)
    goal = torch.tensor([0.5, -0.25]).view(1, 2, 1, 1)
    for _ in range(8):
        optimizer.zero_grad()
        loss = (net(target, source, rigid) - goal).abs().mean()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.15  # measured 0.093; 0.375 at the zero start


def test_bad_flow_shapes_are_rejected():
    with pytest.raises(ValueError, match="flow_fwd"):
        forward_backward_check(torch.zeros(1, 3, 4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="shapes must match"):
        full_flow(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
