"""Specification of the view warp: integer pixel centres under both ``align_corners`` settings."""

from __future__ import annotations

import math

import pytest
import torch

from depthforge.geometry.warp import (
    pixels_to_grid,
    reproject,
    sample_image,
    synthesize_view,
    warp_by_disparity,
)

BOTH = pytest.mark.parametrize("align_corners", [False, True])


def _uv(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.stack([u, v])[None].to(torch.float64)


def _K(f: float = 2.0, cx: float = 2.0, cy: float = 1.5) -> torch.Tensor:
    return torch.tensor([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]], dtype=torch.float64)


def test_grid_normalisation_matches_the_half_pixel_formulas():
    uv = _uv(torch.tensor([[0.0, 3.0]]), torch.tensor([[0.0, 1.0]]))
    loose = pixels_to_grid(uv, height=2, width=4, align_corners=False)[0, 0]
    tight = pixels_to_grid(uv, height=2, width=4, align_corners=True)[0, 0]
    # align_corners=False: (2u + 1)/W − 1; align_corners=True: 2u/(W − 1) − 1
    assert loose.tolist() == [[-0.75, -0.5], [0.75, 0.5]]
    assert tight.tolist() == [[-1.0, -1.0], [1.0, 1.0]]


@BOTH
def test_integer_coordinates_return_the_pixel_itself(align_corners):
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 5, 7, generator=generator, dtype=torch.float64)
    u = torch.randint(0, 7, (4, 6), generator=generator).double()
    v = torch.randint(0, 5, (4, 6), generator=generator).double()
    out = sample_image(image, _uv(u, v), align_corners=align_corners)
    # exact up to float64 rounding of the normalise/unnormalise round trip
    assert torch.allclose(out[0], image[0][:, v.long(), u.long()], rtol=0, atol=1e-12)


@BOTH
def test_half_pixel_offsets_average_the_neighbours(align_corners):
    image = torch.tensor([[[[0.0, 2.0, 6.0], [4.0, 8.0, 10.0]]]], dtype=torch.float64)
    uv = _uv(torch.tensor([[0.5, 1.5, 1.0]]), torch.tensor([[0.0, 0.5, 0.25]]))
    out = sample_image(image, uv, align_corners=align_corners)[0, 0, 0]
    # (0 + 2)/2; (2 + 6 + 8 + 10)/4; 0.75·2 + 0.25·8
    assert out.tolist() == pytest.approx([1.0, 6.5, 3.5])


@BOTH
def test_border_padding_clamps_to_the_edge_pixel_for_both_settings(align_corners):
    image = torch.tensor([[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]], dtype=torch.float64)
    uv = _uv(torch.tensor([[-3.0, 9.0]]), torch.tensor([[0.0, 1.0]]))
    out = sample_image(image, uv, align_corners=align_corners, padding_mode="border")
    assert out[0, 0, 0].tolist() == [1.0, 6.0]


@BOTH
def test_identity_pose_reproduces_the_image_exactly(align_corners):
    generator = torch.Generator().manual_seed(1)
    source = torch.rand(2, 3, 4, 5, generator=generator, dtype=torch.float64)
    depth = 1.0 + 5.0 * torch.rand(2, 1, 4, 5, generator=generator, dtype=torch.float64)
    image, valid = synthesize_view(
        source, depth, _K(), torch.eye(4, dtype=torch.float64), align_corners=align_corners
    )
    assert torch.allclose(image, source, atol=1e-12)
    assert bool(valid.all())


@BOTH
def test_known_translation_shifts_by_an_exact_integer(align_corners):
    # A point at depth z moved by t_x in the camera frame moves f·t_x/z pixels: 2·2/4 = 1.
    source = torch.arange(20.0, dtype=torch.float64).reshape(1, 1, 4, 5)
    depth = torch.full((1, 1, 4, 5), 4.0, dtype=torch.float64)
    T = torch.eye(4, dtype=torch.float64)
    T[0, 3] = 2.0
    image, valid = synthesize_view(source, depth, _K(), T, align_corners=align_corners)
    assert torch.allclose(image[..., :-1], source[..., 1:], atol=1e-12)
    assert valid[..., :-1].all() and not valid[..., -1].any()


@BOTH
def test_disparity_warp_samples_the_right_image_at_u_minus_d(align_corners):
    right = torch.arange(12.0, dtype=torch.float64).reshape(1, 1, 2, 6)
    disparity = torch.full((1, 1, 2, 6), 2.0, dtype=torch.float64)
    left = warp_by_disparity(right, disparity, align_corners=align_corners)
    assert torch.allclose(left[..., 2:], right[..., :-2], rtol=0, atol=1e-12)
    border = right[..., :1].expand(1, 1, 2, 2)  # border padding
    assert torch.allclose(left[..., :2], border, rtol=0, atol=1e-12)


def _rotation(axis: tuple[float, float, float], angle: float) -> torch.Tensor:
    k = torch.tensor(axis, dtype=torch.float64)
    k = k / k.norm()
    cross = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return (
        torch.eye(3, dtype=torch.float64)
        + math.sin(angle) * cross
        + (1 - math.cos(angle)) * (cross @ cross)
    )


def test_reproject_matches_a_per_pixel_pinhole_loop():
    generator = torch.Generator().manual_seed(2)
    depth = 2.0 + torch.rand(1, 1, 3, 4, generator=generator, dtype=torch.float64)
    K = _K(f=3.0, cx=1.4, cy=0.9)
    T = torch.eye(4, dtype=torch.float64)
    T[:3, :3] = _rotation((0.3, -1.0, 0.2), 0.1)
    T[:3, 3] = torch.tensor([0.1, -0.05, 0.2])
    uv, z = reproject(depth, K, T)
    for v in range(3):
        for u in range(4):
            d = depth[0, 0, v, u].item()
            point = torch.tensor([(u - 1.4) * d / 3.0, (v - 0.9) * d / 3.0, d], dtype=torch.float64)
            moved = T[:3, :3] @ point + T[:3, 3]
            expected = [
                (3.0 * moved[0] / moved[2] + 1.4).item(),
                (3.0 * moved[1] / moved[2] + 0.9).item(),
            ]
            assert uv[0, :, v, u].tolist() == pytest.approx(expected, abs=1e-9)
            assert z[0, 0, v, u].item() == pytest.approx(moved[2].item(), abs=1e-12)


def test_reproject_gradients_reach_depth_pose_and_intrinsics():
    generator = torch.Generator().manual_seed(4)
    depth = 2.0 + torch.rand(2, 1, 3, 4, generator=generator, dtype=torch.float64)
    T = torch.eye(4, dtype=torch.float64).repeat(2, 1, 1)
    T[:, :3, :3] = _rotation((0.3, -1.0, 0.2), 0.1)
    T[:, :3, 3] = torch.rand(2, 3, generator=generator, dtype=torch.float64) * 0.2
    K = _K(f=3.0, cx=1.4, cy=0.9).repeat(2, 1, 1)
    inputs = tuple(t.requires_grad_(True) for t in (depth, K, T))
    assert torch.autograd.gradcheck(lambda d, k, t: reproject(d, k, t), inputs)


def test_sample_image_gradients_are_correct_in_float64():
    generator = torch.Generator().manual_seed(3)
    image = torch.rand(1, 2, 3, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    uv = _uv(torch.tensor([[0.3, 1.7, 2.2]]), torch.tensor([[0.4, 1.1, 1.6]])).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda im, p: sample_image(im, p, align_corners=False), (image, uv)
    )


def test_bad_inputs_are_named():
    image = torch.zeros(1, 1, 3, 3)
    with pytest.raises(ValueError, match="uv must be"):
        sample_image(image, torch.zeros(1, 3, 2, 2), align_corners=False)
    with pytest.raises(ValueError, match="at least 2×2"):
        sample_image(torch.zeros(1, 1, 1, 3), torch.zeros(1, 2, 1, 1), align_corners=True)
    with pytest.raises(ValueError, match="disparity must be"):
        warp_by_disparity(image, torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match="T_t_to_s must be"):
        reproject(torch.ones(1, 1, 3, 3), torch.eye(3), torch.eye(3))
