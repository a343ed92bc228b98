"""GeoNet flow terms: rigid flow, forward-backward consistency, flow warping, ResFlowNet."""

from __future__ import annotations

import pytest
import torch

from depthforge.geometry.warp import synthesize_view
from depthforge.losses.flow_consistency import (
    flow_consistency_loss,
    flow_smoothness,
    flow_warp_loss,
    forward_backward_check,
    full_flow,
    geonet_flow_loss,
    rigid_flow,
    warp_by_flow,
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
    flow_fwd = rigid_flow(depth_t, K, T)
    flow_bwd = rigid_flow(depth_s, K, torch.linalg.inv(T))
    occluded_t = torch.zeros(1, 1, H, W, dtype=torch.bool)
    occluded_t[..., 12:36, 18:24] = True
    occluded_s = torch.zeros(1, 1, H, W, dtype=torch.bool)
    occluded_s[..., 12:36, 32:38] = True
    return flow_fwd, flow_bwd, occluded_t, occluded_s


def test_forward_backward_check_flags_exactly_the_occluded_pixels(occluder_pair):
    flow_fwd, flow_bwd, occluded_t, occluded_s = occluder_pair
    difference, consistent = forward_backward_check(flow_fwd, flow_bwd)
    assert torch.equal(consistent, ~occluded_t)
    assert difference[:, :, ~occluded_t[0, 0]].abs().max() < 1e-4  # float32 round-off only
    torch.testing.assert_close(difference[:, 0][occluded_t[:, 0]], torch.full((144,), 6.0))
    assert torch.equal(forward_backward_check(flow_bwd, flow_fwd)[1], ~occluded_s)


def test_condition_uses_the_larger_of_alpha_and_beta_times_the_flow():
    flow_fwd = torch.zeros(1, 2, 4, 4)
    flow_fwd[:, 0] = 100.0  # β·|f| = 5 px > α = 3
    flow_bwd = torch.full((1, 2, 4, 4), 0.0)
    flow_bwd[:, 0] = -96.0  # |Δf| = 4: inside max(3, 5)
    assert forward_backward_check(flow_fwd, flow_bwd)[1].all()
    flow_bwd[:, 0] = -94.0  # |Δf| = 6: outside
    assert not forward_backward_check(flow_fwd, flow_bwd)[1].any()
    flow_fwd[:, 0], flow_bwd[:, 0] = 10.0, -7.5  # β·|f| = 0.5 < α; |Δf| = 2.5 < 3
    assert forward_backward_check(flow_fwd, flow_bwd)[1].all()


def test_consistency_loss_is_zero_for_an_inverse_pair_and_positive_otherwise(occluder_pair):
    flow_fwd, flow_bwd, occluded_t, _ = occluder_pair
    assert flow_consistency_loss(flow_fwd, flow_bwd).item() < 1e-6  # occluded pixels excluded
    perturbed = flow_bwd.clone()
    perturbed[:, 0, :, 44:] += 0.5  # Δu = 0.5 px on the right part: still consistent (< α)
    loss = flow_consistency_loss(flow_fwd, perturbed)
    # forward: target wall columns 46..63 sample it → mean(|Δu|, |Δv|) = 0.25 on 18·48 pixels;
    # backward: source columns 44..63 → 0.25 on 20·48 pixels; each direction is averaged over
    # its 64·48 − 144 consistent pixels
    forward = 0.25 * 18 * 48 / (H * W - 144)
    backward = 0.25 * 20 * 48 / (H * W - 144)
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
    assert consistent.all()


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
