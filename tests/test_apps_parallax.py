"""Parallax: forward warping with a z-buffer against hand computation, a brute-force loop, the
backward warp and real poses; background-side hole filling; anaglyphs; videos; the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from depthforge.apps.depth_input import DepthSource
from depthforge.apps.parallax import parallax_command, write_video
from depthforge.data.tum import poses_from_tum
from depthforge.errors import DataError, DepthforgeError
from depthforge.geometry.warp import synthesize_view
from depthforge.io import read_depth, read_rgb
from depthforge.render.colour import linear_to_srgb, srgb_to_linear
from depthforge.render.views import (
    DUBOIS_LEFT,
    DUBOIS_RIGHT,
    anaglyph,
    fill_holes,
    forward_warp,
    parallax_amplitude,
    render_view,
    stereo_pair,
    swing_path,
)
from depthforge.synth import SynthDataset

# slambook2 ch5/rgbd/joinMap.cpp (SOURCE.md): fx, fy, cx, cy; depth in millimetres.
SLAMBOOK_K = np.array([[518.0, 0.0, 325.5], [0.0, 519.0, 253.5], [0.0, 0.0, 1.0]])


def pinhole(f: float, h: int, w: int) -> torch.Tensor:
    return torch.tensor([[f, 0.0, (w - 1) / 2], [0.0, f, (h - 1) / 2], [0.0, 0.0, 1.0]])


def moved(tx: float = 0.0, ty: float = 0.0, tz: float = 0.0) -> torch.Tensor:
    """``T_src_to_tgt`` of a camera translated by ``(tx, ty, tz)``: points move by the opposite."""
    T = torch.eye(4)
    T[:3, 3] = -torch.tensor([tx, ty, tz])
    return T


def square_scene(h: int = 12, w: int = 16, seed: int = 0):
    """Random colours; a far plane at 4 m with a near square at 2 m (rows 4–7, columns 6–9)."""
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 3, h, w, generator=g)
    depth = torch.full((1, 1, h, w), 4.0)
    depth[..., 4:8, 6:10] = 2.0
    return image, depth


def test_identity_pose_reproduces_the_image_exactly():
    image, depth = square_scene()
    view = forward_warp(image, depth, pinhole(10.0, 12, 16), torch.eye(4))
    assert bool(view.covered.all())
    torch.testing.assert_close(view.image, image, rtol=0, atol=1e-6)
    torch.testing.assert_close(view.depth, depth, rtol=0, atol=1e-5)
    rgb = np.round(image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(
        render_view(rgb, depth[0, 0].numpy(), pinhole(10.0, 12, 16).numpy(), np.eye(4)), rgb
    )


def test_sideways_move_shifts_a_plane_by_f_t_over_z():
    h, w, f, z = 6, 10, 20.0, 2.0
    ramp = torch.arange(w, dtype=torch.float32).expand(1, 1, h, w).contiguous()
    plane = torch.full((1, 1, h, w), z)
    # f·t/z = 20 · 0.2 / 2 = 2 px: target column x shows source column x + 2.
    view = forward_warp(ramp, plane, pinhole(f, h, w), moved(tx=0.2))
    torch.testing.assert_close(view.image[..., : w - 2], ramp[..., 2:], rtol=0, atol=1e-5)
    assert not view.covered[..., w - 2 :].any() and bool(view.covered[..., : w - 2].all())
    torch.testing.assert_close(view.depth[..., : w - 2], plane[..., 2:])
    # 1.5 px: source columns x + 1 and x + 2 land 0.5 px either side of x, weights ½ and ½.
    view = forward_warp(ramp, plane, pinhole(f, h, w), moved(tx=0.15))
    torch.testing.assert_close(
        view.image[..., : w - 2], ramp[..., : w - 2] + 1.5, rtol=0, atol=1e-5
    )


def brute_force_warp(image, depth, K, T, radius=0.75, tol=0.02):
    """One Python iteration per source pixel and per target pixel, float64, no tensors ops."""
    _, c, h, w = image.shape
    fx, fy, cx, cy = K[0, 0].item(), K[1, 1].item(), K[0, 2].item(), K[1, 2].item()
    R, t = T[:3, :3].double().tolist(), T[:3, 3].double().tolist()
    splats: dict[tuple[int, int], list] = {}
    for v in range(h):
        for u in range(w):
            z = depth[0, 0, v, u].item()
            p = [(u - cx) * z / fx, (v - cy) * z / fy, z]
            q = [sum(R[i][j] * p[j] for j in range(3)) + t[i] for i in range(3)]
            pu, pv = fx * q[0] / q[2] + cx, fy * q[1] / q[2] + cy
            for y in range(h):
                for x in range(w):
                    if abs(x - pu) <= radius and abs(y - pv) <= radius:
                        weight = (1 - abs(x - pu)) * (1 - abs(y - pv))
                        colour = [image[0, k, v, u].item() for k in range(c)]
                        splats.setdefault((y, x), []).append((q[2], weight, colour))
    out = np.zeros((c, h, w))
    for (y, x), hits in splats.items():
        nearest = min(zz for zz, _, _ in hits)
        front = [(wt, col) for zz, wt, col in hits if zz <= nearest * (1 + tol)]
        total = sum(wt for wt, _ in front)
        out[:, y, x] = [sum(wt * col[k] for wt, col in front) / total for k in range(c)]
    return out


def test_z_buffer_matches_a_brute_force_loop_and_the_near_square_occludes():
    image, depth = square_scene()
    image[..., 4:8, 6:10] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]  # a red square
    K, T = pinhole(10.0, 12, 16), moved(tx=0.52, ty=0.13)  # near moves 2.6, far 1.3 px left
    view = forward_warp(image, depth, K, T)
    np.testing.assert_allclose(
        view.image[0].numpy(), brute_force_warp(image, depth, K, T), atol=1e-5
    )
    # The square now covers columns 4–7 (6 − 2.6 … 9 − 2.6, rounded in) over the far plane.
    inside = view.image[0, :, 5:7, 4:7]
    torch.testing.assert_close(inside, torch.tensor([1.0, 0, 0])[:, None, None].expand_as(inside))
    torch.testing.assert_close(view.depth[0, 0, 5:7, 4:7], torch.full((2, 3), 2.0))


def test_cracks_of_a_magnified_surface_are_closed_by_the_footprint():
    image, plane = torch.rand(1, 3, 24, 32), torch.full((1, 1, 24, 32), 2.0)
    zoom = moved(tz=0.5)  # 1.33× magnification of the plane
    view = forward_warp(image, plane, pinhole(20.0, 24, 32), zoom)
    assert bool(view.covered.all())
    nearest_only = forward_warp(image, plane, pinhole(20.0, 24, 32), zoom, splat_radius=0.5)
    assert not bool(nearest_only.covered.all())  # a 1-px footprint leaves cracks


def test_disocclusions_are_filled_from_the_background():
    h, w = 20, 24
    image = torch.zeros(1, 3, h, w)
    image[:, 2] = 1.0  # blue far plane
    depth = torch.full((1, 1, h, w), 4.0)
    image[..., 6:14, 8:14] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]  # red near square
    depth[..., 6:14, 8:14] = 1.0
    view = forward_warp(image, depth, pinhole(12.0, h, w), moved(tx=0.5))  # 6 vs 1.5 px left
    gap = ~view.covered[0, 0]
    gap[:, w - 2 :] = False  # the strip that left the field of view
    assert gap.sum() >= 8 * 3  # the square's old right side, now seen past it
    filled, z = fill_holes(view)
    blue = torch.tensor([0.0, 0.0, 1.0])
    torch.testing.assert_close(filled[0][:, gap], blue[:, None].expand(3, int(gap.sum())))
    assert bool((z[0, 0][gap] == 4.0).all())
    torch.testing.assert_close(
        filled[view.covered.expand_as(filled)], view.image[view.covered.expand_as(filled)]
    )
    assert bool((filled[0, 0, 6:14] > 0.5).sum() == 8 * 6)  # the square keeps its size


def test_holes_beyond_the_source_view_repeat_its_edge():
    h, w = 6, 10
    ramp = torch.arange(w, dtype=torch.float32).expand(1, 1, h, w).contiguous()
    plane = torch.full((1, 1, h, w), 2.0)
    K = pinhole(20.0, h, w)
    view = forward_warp(ramp, plane, K, moved(tx=0.2))  # 2 px left: the last 2 columns are new
    torch.testing.assert_close(view.epipole, torch.tensor([[-4.0, 0.0, 0.0]]))  # K·t, sideways
    filled, _ = fill_holes(view)
    torch.testing.assert_close(filled[..., w - 2 :], torch.full((1, 1, h, 2), float(w - 1)))
    turn = torch.eye(4)  # no translation: no epipolar line; the nearest covered pixel fills
    turn[:3, :3] = torch.tensor(
        [[math.cos(0.1), 0, math.sin(0.1)], [0, 1, 0], [-math.sin(0.1), 0, math.cos(0.1)]]
    )
    view = forward_warp(ramp, plane, K, turn)
    assert not view.covered[..., 0].any() and not view.epipole.any()  # a new left strip
    filled, _ = fill_holes(view)
    edge = view.covered[0, 0].float().argmax(dim=1)  # first covered column of each row
    torch.testing.assert_close(filled[0, 0, :, 0], view.image[0, 0, torch.arange(h), edge])


def test_forward_warp_agrees_with_the_backward_warp_on_synthetic_frames():
    ds = SynthDataset(split="val", scenes=1, frames=2, size=(64, 48), pairs=0)
    a, b = ds[0], ds[1]
    K = torch.as_tensor(a.K).float()
    pose_a, pose_b = a.pose.double(), b.pose.double()
    T_a_to_b = (torch.linalg.inv(pose_b) @ pose_a).float()
    fwd = forward_warp(a.image[None], a.depth[None], K, T_a_to_b)
    bwd, inside = synthesize_view(a.image[None], b.depth[None], K, torch.linalg.inv(T_a_to_b))
    same_surface = (fwd.depth - b.depth[None]).abs() < 0.01 * b.depth[None]
    both = (fwd.covered & inside & b.mask[None] & same_surface)[0, 0]
    assert both.float().mean() > 0.6
    gap = (fwd.image - bwd)[0][:, both].abs().mean()
    still = (b.image - a.image)[:, both].abs().mean()
    assert gap < 0.02 and gap < 0.25 * still


@pytest.fixture(scope="module")
def slambook(shared_data: Path):
    root = shared_data / "slambook2_rgbd_5frames"
    rows = np.loadtxt(root / "pose.txt")  # tx ty tz qx qy qz qw, T_world_camera
    poses = poses_from_tum(rows[:, :3], rows[:, 3:])
    frames = [
        (read_rgb(root / f"color/{i}.png"), read_depth(root / f"depth/{i}.pgm", "png16", 1000.0))
        for i in (4, 5)
    ]
    return frames, poses[3:5]


def test_real_frame_warped_to_the_next_pose_matches_it_better(slambook):
    (rgb4, depth4), (rgb5, _) = slambook[0]
    pose4, pose5 = slambook[1]
    T = torch.from_numpy(np.linalg.inv(pose5) @ pose4).float()

    def to_tensor(rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255.0

    view = forward_warp(
        to_tensor(rgb4),
        torch.from_numpy(depth4)[None, None],
        torch.from_numpy(SLAMBOOK_K).float(),
        T,
    )
    seen = view.covered[0, 0]
    assert seen.float().mean() > 0.5
    target = to_tensor(rgb5)[0]
    warped_error = (view.image[0] - target)[:, seen].abs().mean()
    static_error = (to_tensor(rgb4)[0] - target)[:, seen].abs().mean()
    # Measured 0.62 (0.050 vs 0.081); the inverted pose convention gives 1.20, i.e. no gain.
    assert warped_error < 0.7 * static_error


def test_colour_anaglyph_takes_red_from_the_left_and_cyan_from_the_right():
    rng = np.random.default_rng(1)
    left, right = rng.integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    out = anaglyph(left, right, "color")
    np.testing.assert_array_equal(out[..., 0], left[..., 0])
    np.testing.assert_array_equal(out[..., 1:], right[..., 1:])


def test_dubois_anaglyph_is_the_published_matrices_in_linear_light():
    left = np.array([[[200, 120, 40]]], np.uint8)
    right = np.array([[[30, 160, 220]]], np.uint8)
    lin = lambda x: srgb_to_linear(torch.tensor(x / 255.0, dtype=torch.float64))  # noqa: E731
    by_hand = []
    for row_l, row_r in zip(DUBOIS_LEFT, DUBOIS_RIGHT, strict=True):
        value = sum(m * c for m, c in zip(row_l, lin(left[0, 0]).tolist(), strict=True))
        value += sum(m * c for m, c in zip(row_r, lin(right[0, 0]).tolist(), strict=True))
        by_hand.append(min(max(value, 0.0), 1.0))
    expected = np.round(linear_to_srgb(torch.tensor(by_hand)).numpy() * 255)
    np.testing.assert_array_equal(anaglyph(left, right, "dubois")[0, 0], expected)
    assert DUBOIS_LEFT[0] == (0.437, 0.449, 0.164) and DUBOIS_RIGHT[2] == (-0.026, -0.093, 1.234)


def test_stereo_right_view_has_the_disparity_of_the_baseline():
    h, w = 10, 20
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, 10] = 255  # a white column on a plane at 2 m
    K = pinhole(40.0, h, w).numpy()
    left, right = stereo_pair(rgb, np.full((h, w), 2.0, np.float32), K, baseline=0.15)
    assert left is rgb or np.array_equal(left, rgb)
    assert (right[:, 7] == 255).all() and right[:, 10].max() == 0  # 40 · 0.15 / 2 = 3 px left


def test_amplitude_gives_the_requested_near_far_parallax_and_the_path_loops():
    depth = np.full((40, 50), 4.0, np.float32)
    depth[10:30, 10:40] = 1.0
    a = parallax_amplitude(depth, fx=50.0, width=50, parallax=0.04)
    assert a * 50.0 * (1 / 1.0 - 1 / 4.0) == pytest.approx(0.04 * 50)  # 2 px of relative shift
    path = swing_path(8, a, dolly=0.1)
    np.testing.assert_array_equal(path[0], np.eye(4))
    assert np.abs(path[:, 0, 3]).max() == pytest.approx(a) and path[:, 2, 3].max() == pytest.approx(
        0.1
    )
    np.testing.assert_allclose(path[:, :3, :3], np.broadcast_to(np.eye(3), (8, 3, 3)))
    plane = np.full((4, 4), 2.0, np.float32)  # one depth: it moves by twice the fraction
    assert parallax_amplitude(plane, 10.0, 4, 0.5) * 10.0 / 2.0 == pytest.approx(2 * 0.5 * 4)
    shallow = np.where(depth > 2.0, 1.5, 1.0).astype(np.float32)  # near 1 m, far 1.5 m
    assert parallax_amplitude(shallow, 50.0, 50, 0.04) * 50.0 / 1.0 == pytest.approx(2 * 0.04 * 50)


def test_gif_and_webp_hold_every_frame(tmp_path):
    frames = [np.full((12, 16, 3), 20 * i, np.uint8) for i in range(5)]
    for suffix in (".gif", ".webp"):
        path = write_video(frames, tmp_path / f"v{suffix}", fps=10)
        with Image.open(path) as video:
            assert video.n_frames == 5 and video.size == (16, 12)
    with pytest.raises(ValueError, match="unknown video format"):
        write_video(frames, tmp_path / "v.avi", fps=10)


def test_mp4_holds_every_frame(tmp_path):
    imageio = pytest.importorskip(
        "imageio.v2", reason="the 'video' extra (imageio) is not installed"
    )
    pytest.importorskip(
        "imageio_ffmpeg", reason="the 'video' extra (imageio-ffmpeg) is not installed"
    )
    frames = [np.full((13, 16, 3), 30 * i, np.uint8) for i in range(6)]
    path = write_video(frames, tmp_path / "v.mp4", fps=12)
    reader = imageio.get_reader(path)
    try:
        assert reader.count_frames() == 6
        assert reader.get_data(0).shape == (12, 16, 3)  # an odd height loses one row (yuv420p)
    finally:
        reader.close()


def test_mp4_without_the_video_extra_names_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    with pytest.raises(DepthforgeError, match=r"depthforge\[video\]"):
        write_video([np.zeros((4, 4, 3), np.uint8)], tmp_path / "v.mp4", fps=10)


@pytest.fixture
def photo(tmp_path):
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[..., 2] = 200
    rgb[8:16, 10:20] = [255, 0, 0]
    depth = np.full((24, 32), 3.0, np.float32)
    depth[8:16, 10:20] = 1.0
    depth[0, 0] = 0.0  # a hole: filled from its neighbours
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    np.save(tmp_path / "depth.npy", depth)
    return tmp_path


def test_parallax_command_writes_video_stereo_and_anaglyph(photo):
    summary = parallax_command(
        photo / "photo.png",
        photo / "out.gif",
        DepthSource(photo / "depth.npy"),
        fov=60.0,
        frames=6,
        stereo=photo / "pair.png",
        anaglyph_out=photo / "ana.png",
    )
    with Image.open(summary.video) as video:
        assert video.n_frames == 6
    assert read_rgb(summary.stereo).shape == (24, 64, 3)
    assert read_rgb(summary.anaglyph).shape == (24, 32, 3)
    assert summary.baseline == 0.065 and summary.units == "metres"
    fx = 16.0 / math.tan(math.radians(30.0))
    assert summary.amplitude * fx * (1.0 - 1.0 / 3.0) == pytest.approx(0.03 * 32, rel=1e-4)
    with pytest.raises(DataError, match="already exists"):
        parallax_command(photo / "photo.png", photo / "out.gif", DepthSource(photo / "depth.npy"))


def test_parallax_command_names_both_sizes(photo):
    np.save(photo / "small.npy", np.ones((12, 16), np.float32))
    with pytest.raises(DataError, match=r"small\.npy.*16×12.*32×24"):
        parallax_command(photo / "photo.png", photo / "o.gif", DepthSource(photo / "small.npy"))


def test_cli_parallax(photo):
    from typer.testing import CliRunner

    from depthforge.cli import app

    result = CliRunner().invoke(
        app,
        [
            "parallax",
            str(photo / "photo.png"),
            "--depth",
            str(photo / "depth.npy"),
            "--out",
            str(photo / "cli.webp"),
            "--frames",
            "4",
            "--anaglyph",
            str(photo / "a.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4 frames" in result.output
    with Image.open(photo / "cli.webp") as video:
        assert video.n_frames == 4
    assert read_rgb(photo / "a.png").shape == (24, 32, 3)


def test_parallax_command_with_a_relative_depth_model(photo):
    from depthforge.models import create_model, save_model

    torch.manual_seed(0)
    net = create_model("monodepth2_resnet18", input_size=(64, 64))
    model = save_model(net, photo / "model")
    summary = parallax_command(
        photo / "photo.png",
        photo / "m.gif",
        DepthSource(model=model),
        frames=3,
        stereo=photo / "s.png",
    )
    assert summary.units.startswith("arbitrary units: scale_invariant_depth")
    with Image.open(summary.video) as video:
        assert video.n_frames == 3
    assert summary.baseline is not None and summary.baseline != 0.065  # 1/30 of the near depth
