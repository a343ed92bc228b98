"""Synthetic depth of field: thin-lens CoC, linear light, occlusion-aware layers, soft variant."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from depthforge.apps.depth_input import DepthSource
from depthforge.apps.dof import dof_command
from depthforge.errors import DataError
from depthforge.io import read_rgb, save_array, save_rgb
from depthforge.render.colour import linear_to_srgb, srgb_to_linear
from depthforge.render.depth import fill_depth_holes
from depthforge.render.dof import aperture_kernels, render_dof, render_dof_soft
from depthforge.render.lens import PRESETS, signed_coc_mm, signed_coc_px

# A lens that gives a few pixels of blur on tiny test images: 50 mm f/2 on a 3.6 mm wide sensor,
# so a 32 px wide image has 32/3.6 = 8.9 px per mm of CoC.
SENSOR_MM = 3.6
LENS = dict(f_number=2.0, focal_mm=50.0, sensor_width_mm=SENSOR_MM)


def hand_coc_mm(z_m: float, zf_m: float, f_mm: float, n: float) -> float:
    """c = A·f·|z − z_f| / (z·(z_f − f)), A = f/N, everything in mm."""
    z, zf = z_m * 1000.0, zf_m * 1000.0
    return (f_mm / n) * f_mm * abs(z - zf) / (z * (zf - f_mm))


def srgb_decode(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 decoding, written again in NumPy for the references."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def srgb_encode(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


# ---------------------------------------------------------------- thin lens


def test_coc_matches_hand_computation_for_three_depths():
    # 50 mm f/2 focused at 2 m: A = 25 mm. z = 1 m: 25·50·1000 / (1000·1950) = 0.641026 mm;
    # z = 4 m: 25·50·2000 / (4000·1950) = 0.320513 mm; z = 2 m: 0.
    depths = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)
    coc = signed_coc_mm(depths, focus_m=2.0, f_number=2.0, focal_mm=50.0)
    assert coc.tolist() == pytest.approx([-0.6410256, 0.0, 0.3205128], abs=1e-6)
    for z, c in zip(depths.tolist(), coc.tolist(), strict=True):
        assert abs(c) == pytest.approx(hand_coc_mm(z, 2.0, 50.0, 2.0), rel=1e-12)
    # in pixels: 0.641026 mm · 72 px / 3.6 mm = 12.8205 px
    px = signed_coc_px(depths, focus_m=2.0, image_width_px=72, **LENS)
    assert px.tolist() == pytest.approx([-12.820513, 0.0, 6.410256], abs=1e-5)


def test_coc_is_linear_in_inverse_depth_difference():
    depths = torch.tensor([0.5, 0.9, 1.7, 3.0, 12.0], dtype=torch.float64)
    coc = signed_coc_mm(depths, focus_m=1.2, f_number=1.8, focal_mm=4.25).abs()
    inverse_gap = (1.0 / depths - 1.0 / 1.2).abs()
    slope = (4.25 / 1.8) * 4.25 * 1200.0 / (1200.0 - 4.25) / 1000.0  # A·f·z_f/(z_f − f), mm·m
    torch.testing.assert_close(coc, slope * inverse_gap, rtol=1e-12, atol=0)


def test_presets_are_the_documented_numbers():
    assert (PRESETS["phone"].focal_mm, PRESETS["phone"].sensor_width_mm) == (4.25, 5.6)
    assert (PRESETS["dslr"].focal_mm, PRESETS["dslr"].sensor_width_mm) == (50.0, 36.0)


@pytest.mark.parametrize("n", [0.0, -1.4])
def test_non_positive_f_number_is_an_error(n):
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="f_number must be > 0"):
        render_dof(img, np.ones((4, 4)), focus_m=1.0, f_number=n)
    with pytest.raises(ValueError, match="fnumber must be > 0"):
        dof_command("x.png", DepthSource("x.npy"), focus=1.0, fnumber=n)


def test_sizes_that_differ_name_both():
    with pytest.raises(ValueError, match=r"\(5, 4\).*\(4, 4\)"):
        render_dof(np.zeros((4, 4, 3), np.uint8), np.ones((5, 4)), focus_m=1.0, f_number=2.0)


# ---------------------------------------------------------------- colour and kernels


def test_srgb_transfer_functions():
    x = torch.linspace(0, 1, 101, dtype=torch.float64)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(x)), x, rtol=0, atol=1e-12)
    # 0.5 sRGB = 0.2140 linear (((0.5 + 0.055)/1.055)^2.4); below 0.04045 the segment is linear
    assert float(srgb_to_linear(torch.tensor(0.5, dtype=torch.float64))) == pytest.approx(
        ((0.5 + 0.055) / 1.055) ** 2.4
    )
    assert float(srgb_to_linear(torch.tensor(0.04, dtype=torch.float64))) == pytest.approx(
        0.04 / 12.92
    )


def test_aperture_kernels_have_the_shape_areas():
    radii = torch.tensor([0.0, 6.0], dtype=torch.float64)
    disc = aperture_kernels(radii, 7, "disc")
    assert disc[0, 7, 7] == 1.0 and disc[0].sum() == 1.0  # radius 0: identity
    # the anti-aliased coverage of a radius-6 disc: area π·36 = 113.1 px² (≈ one pixel slack)
    coverage = disc[1] / disc[1].max()
    assert float(coverage.sum()) == pytest.approx(math.pi * 36, abs=1.5)
    torch.testing.assert_close(disc[1], disc[1].flip(0).T)  # symmetric
    hexagon = aperture_kernels(radii, 7, "hexagon")[1]
    hex_area = 1.5 * math.sqrt(3) * 36  # regular hexagon of circumradius 6: 93.5 px²
    assert float((hexagon / hexagon.max()).sum()) == pytest.approx(hex_area, abs=1.5)
    assert float(hexagon[7, 7 + 6]) > 0 and float(hexagon[7 + 6, 7]) == 0  # vertex on x axis


# ---------------------------------------------------------------- renderer invariants


def test_plane_at_focus_distance_stays_sharp():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    out = render_dof(img, np.full((20, 24), 1.5), focus_m=1.5, **LENS)
    np.testing.assert_array_equal(out, img)
    imgf = img.astype(np.float32) / 255
    outf = render_dof(imgf, np.full((20, 24), 1.5), focus_m=1.5, **LENS)
    np.testing.assert_allclose(outf, imgf, atol=2e-6)


def test_flat_image_keeps_its_colour_and_means():
    # constant colour through a steep depth ramp with large blurs: every layer carries the same
    # colour, so the normalised composite is that colour (sRGB mean and linear mean preserved)
    colour = np.array([0.8, 0.3, 0.05], np.float32)
    img = np.broadcast_to(colour, (24, 32, 3)).copy()
    depth = np.tile(np.linspace(0.4, 6.0, 32, dtype=np.float32), (24, 1))
    out = render_dof(img, depth, focus_m=1.0, **LENS)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), colour, atol=1e-5)
    np.testing.assert_allclose(
        srgb_decode(out.astype(np.float64)).mean(axis=(0, 1)), srgb_decode(colour), rtol=1e-4
    )


def test_blur_is_in_linear_light_and_conserves_energy():
    # a point light on black, on a plane far behind focus: its linear-light energy is spread
    # over the disc (sum preserved); blurring sRGB values instead would not preserve it
    img = np.zeros((21, 21, 3), np.float32)
    img[10, 10] = 1.0
    depth = np.full((21, 21), 4.0, np.float32)
    out = render_dof(img, depth, focus_m=1.0, max_downsample=1, **LENS)
    coc = hand_coc_mm(4.0, 1.0, 50.0, 2.0) * 21 / SENSOR_MM  # 0.987 mm → 5.76 px diameter
    kernel = aperture_kernels(torch.tensor([coc / 2], dtype=torch.float64), 10)[0].numpy()
    lin = srgb_decode(out[..., 0].astype(np.float64))
    assert lin.sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(lin, kernel, atol=1e-5)
    assert out[..., 0].sum() > 5.0  # the sRGB-encoded disc is much brighter than one unit


def test_highlights_bloom_only_when_blurred():
    img = np.full((21, 21, 3), 0.2, np.float32)
    img[10, 10] = 1.0
    depth = np.full((21, 21), 4.0, np.float32)
    plain = render_dof(img, depth, focus_m=1.0, **LENS)
    boosted = render_dof(img, depth, focus_m=1.0, highlight_boost=4.0, **LENS)
    assert boosted[10, 13, 0] > plain[10, 13, 0] + 0.05
    sharp = render_dof(img, depth, focus_m=4.0, highlight_boost=4.0, **LENS)
    np.testing.assert_allclose(sharp, img, atol=2e-6)


# ---------------------------------------------------------------- occlusion


def scatter_reference(img: np.ndarray, depth: np.ndarray, focus_m: float) -> np.ndarray:
    """Brute force: every pixel (borders replicated) scatters its linear colour over its own
    disc; sprites of equal depth add, groups of different depths are composited back to front
    with "over", and the colour is normalised by the accumulated coverage."""
    h, w = depth.shape
    coc = np.vectorize(lambda z: hand_coc_mm(z, focus_m, 50.0, 2.0))(depth) * w / SENSOR_MM
    half = int(math.ceil(coc.max() / 2))
    lin = np.pad(srgb_decode(img.astype(np.float64)), ((half, half), (half, half), (0, 0)), "edge")
    dpad = np.pad(depth, half, "edge")
    cpad = np.pad(coc, half, "edge")
    out, cover = np.zeros((h, w, 3)), np.zeros((h, w))
    for z in sorted(np.unique(depth))[::-1]:  # far to near
        colour, alpha = np.zeros((h + 4 * half, w + 4 * half, 3)), np.zeros_like(out[..., 0])
        alpha = np.zeros((h + 4 * half, w + 4 * half))
        for y, x in zip(*np.nonzero(dpad == z), strict=True):
            r = cpad[y, x] / 2
            k = aperture_kernels(torch.tensor([r], dtype=torch.float64), half)[0].numpy()
            colour[y : y + 2 * half + 1, x : x + 2 * half + 1] += k[..., None] * lin[y, x]
            alpha[y : y + 2 * half + 1, x : x + 2 * half + 1] += k
        c = colour[2 * half : 2 * half + h, 2 * half : 2 * half + w]
        a = alpha[2 * half : 2 * half + h, 2 * half : 2 * half + w]
        out = c + (1 - a[..., None]) * out
        cover = a + (1 - a) * cover
    return srgb_encode(out / cover[..., None])


def square_scene() -> tuple[np.ndarray, np.ndarray]:
    """24×32: a pure red near square (1 m) over a green/blue textured background (4 m)."""
    rng = np.random.default_rng(1)
    img = np.zeros((24, 32, 3), np.float32)
    img[..., 1:] = rng.uniform(0.1, 0.9, (24, 32, 2))
    depth = np.full((24, 32), 4.0, np.float32)
    img[8:16, 12:20] = (1.0, 0.0, 0.0)
    depth[8:16, 12:20] = 1.0
    return img, depth


def test_sharp_foreground_does_not_bleed_over_blurred_background():
    img, depth = square_scene()
    out = render_dof(img, depth, focus_m=1.0, max_downsample=1, **LENS)
    # float32 FFT error ~1e-6 in linear light, × ≤ 12.92 through the sRGB encoding
    np.testing.assert_allclose(out, scatter_reference(img, depth, 1.0), atol=1e-4)
    outside = np.ones((24, 32), bool)
    outside[8:16, 12:20] = False
    assert out[outside, 0].max() < 1e-4  # no red outside the square, even right beside it
    np.testing.assert_allclose(out[8:16, 12:20], img[8:16, 12:20], atol=1e-5)  # square sharp
    assert np.abs(out[outside] - img[outside]).max() > 0.1  # while the background is blurred


def test_blurred_foreground_spreads_over_sharp_background():
    img, depth = square_scene()
    out = render_dof(img, depth, focus_m=4.0, max_downsample=1, **LENS)
    np.testing.assert_allclose(out, scatter_reference(img, depth, 4.0), atol=1e-4)
    # CoC of the square: 25·50·3000/(1000·3950) = 0.949 mm · 32/3.6 = 8.4 px diameter
    assert out[12, 11, 0] > 0.3 and out[12, 9, 0] > 0.1  # red spills 1 and 3 px to the left
    far = np.ones((24, 32), bool)
    far[3:21, 7:25] = False  # beyond the blur radius (4.2 px) + 1 from the square
    np.testing.assert_allclose(out[far], img[far], atol=2e-6)  # the far background stays sharp


def test_multiresolution_blur_is_close_to_full_resolution():
    rng = np.random.default_rng(2)
    img = rng.uniform(0, 1, (48, 64, 3)).astype(np.float32)
    depth = np.tile(np.linspace(0.4, 8.0, 64, dtype=np.float32), (48, 1))
    fast = render_dof(img, depth, focus_m=2.0, **LENS)
    full = render_dof(img, depth, focus_m=2.0, max_downsample=1, **LENS)
    # documented: the reduced-resolution path adds ≲ s/2 px of smoothing at radii ≥ 3·s
    assert np.abs(fast - full).mean() < 0.02


def test_hexagonal_aperture_differs_from_disc():
    img, depth = square_scene()
    disc = render_dof(img, depth, focus_m=4.0, **LENS)
    hexagon = render_dof(img, depth, focus_m=4.0, aperture="hexagon", **LENS)
    assert 1e-3 < np.abs(disc - hexagon).max() < 0.5


# ---------------------------------------------------------------- differentiable variant


def three_planes() -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(3)
    img = torch.from_numpy(rng.uniform(0.2, 0.8, (1, 3, 16, 20)))
    depth = torch.full((1, 1, 16, 20), 5.0, dtype=torch.float64)
    depth[..., 4:12, 3:9] = 0.8
    depth[..., 6:14, 10:17] = 1.7
    return img, depth


def test_soft_renderer_with_small_softness_matches_the_layered_renderer():
    img, depth = three_planes()
    lens = dict(focus_m=2.0, **LENS)
    coc = signed_coc_px(depth, image_width_px=20, **lens)
    rng_ = (float(coc.min()), float(coc.max()))
    soft = render_dof_soft(img, depth, coc_range=rng_, layers=4, softness=0.01, **lens)
    hard = render_dof(
        img[0].permute(1, 2, 0).numpy().astype(np.float32), depth[0, 0].numpy(), layers=4, **lens
    )
    np.testing.assert_allclose(soft[0].permute(1, 2, 0).numpy(), hard, atol=1e-4)
    wide = render_dof_soft(img, depth, coc_range=rng_, layers=4, softness=3.0, **lens)
    assert (wide - soft).abs().max() > 1e-2  # the softness does act


def test_soft_renderer_is_gradcheckable_in_depth():
    rng = np.random.default_rng(4)
    img = torch.from_numpy(rng.uniform(0.25, 0.75, (1, 3, 5, 6)))
    depth = torch.from_numpy(rng.uniform(0.7, 3.0, (1, 1, 5, 6))).requires_grad_(True)

    def render(d: torch.Tensor) -> torch.Tensor:
        return render_dof_soft(
            img, d, focus_m=1.2, coc_range=(-3.0, 3.0), layers=3, softness=1.0, **LENS
        )

    assert torch.autograd.gradcheck(render, (depth,), eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------- files and command


def test_fill_depth_holes_takes_the_nearest_valid_depth():
    depth = np.array([[1.0, 0.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    expected = np.array([[1.0, 1.0, 3.0, 3.0], [1.0, 1.0, 3.0, 3.0]], np.float32)
    np.testing.assert_array_equal(fill_depth_holes(depth), expected)
    with pytest.raises(ValueError, match="no valid pixel"):
        fill_depth_holes(np.zeros((2, 2)))


def test_dof_command_end_to_end(tmp_path):
    img, depth = square_scene()
    depth[0, 0] = 0.0  # a hole
    image_path = save_rgb(tmp_path / "photo.png", np.round(img * 255).astype(np.uint8))
    depth_path = save_array(tmp_path / "depth.npy", depth)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = dof_command(
            image_path,
            DepthSource(depth_path),
            focus_at=(15, 11),
            fnumber=2.0,
            preset="dslr",
            overwrite=True,
        )
    assert out == tmp_path / "photo_dof.png"
    result = read_rgb(out)
    assert result.shape == (24, 32, 3)
    assert result[11, 15].tolist() == [255, 0, 0]  # focused on the square: it stays sharp
    with pytest.raises(DataError, match="exists"):
        dof_command(image_path, DepthSource(depth_path), focus=1.0, fnumber=2.0)
    with pytest.warns(UserWarning, match="outside the scene's depth range"):
        dof_command(
            image_path, DepthSource(depth_path), focus=9.0, fnumber=2.0, out=tmp_path / "b.png"
        )
    small = save_array(tmp_path / "small.npy", depth[:20])
    with pytest.raises(DataError, match=r"32×20.*32×24"):
        dof_command(image_path, DepthSource(small), focus=1.0, fnumber=2.0, out=tmp_path / "c.png")


def test_dof_command_with_a_model(tmp_path):
    from depthforge.models import create_model, save_model

    torch.manual_seed(0)
    model_dir = save_model(create_model("fcrn_resnet18", input_size=(32, 32)), tmp_path / "m")
    img, _ = square_scene()
    image_path = save_rgb(tmp_path / "photo.png", np.round(img * 255).astype(np.uint8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained net: the focus may lie outside its range
        out = dof_command(image_path, DepthSource(model=model_dir), focus=1.0, fnumber=2.0)
    assert read_rgb(out).shape == (24, 32, 3)
    with pytest.raises(ValueError, match="exactly one of a depth file"):
        DepthSource()
    with pytest.raises(ValueError, match="exactly one of a depth file"):
        DepthSource(tmp_path / "d.npy", model=model_dir)
