"""Point clouds and meshes from RGB-D: hand computation from K, planes, round trips, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from depthforge.apps.depth_input import DepthSource, resolve_intrinsics
from depthforge.apps.mesh import grid_triangles
from depthforge.apps.pointcloud import pointcloud_command, rgbd_to_pointcloud, write_pointcloud
from depthforge.errors import DataError, OutputSpaceError
from depthforge.types import OutputSpace

plyfile = pytest.importorskip("plyfile")
trimesh = pytest.importorskip("trimesh")

# slambook2 ch5/rgbd/joinMap.cpp (SOURCE.md): fx, fy, cx, cy; depth in millimetres.
SLAMBOOK_K = np.array([[518.0, 0.0, 325.5], [0.0, 519.0, 253.5], [0.0, 0.0, 1.0]])


def read_pgm16_big_endian(path: Path) -> np.ndarray:
    """An independent reader: 'P5 W H 65535' + one whitespace byte + big-endian uint16 samples."""
    data = path.read_bytes()
    magic, width, height, maxval = data[:32].split()[:4]
    assert magic == b"P5" and int(maxval) == 65535
    header_end = data.index(maxval, len(magic)) + len(maxval) + 1
    width, height = int(width), int(height)
    return np.frombuffer(data, ">u2", count=width * height, offset=header_end).reshape(
        height, width
    )


@pytest.fixture(scope="module")
def slambook(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    root = shared_data / "slambook2_rgbd_5frames"
    rgb = np.asarray(Image.open(root / "color" / "1.png").convert("RGB"))
    depth_m = read_pgm16_big_endian(root / "depth" / "1.pgm").astype(np.float32) / 1000.0
    return rgb, depth_m


def step_depth(near: float, far: float, size: int = 8) -> np.ndarray:
    """Left half at ``near``, right half at ``far`` metres."""
    depth = np.full((size, size), near, dtype=np.float32)
    depth[:, size // 2 :] = far
    return depth


def test_real_frame_points_match_hand_computation_from_K(slambook, tmp_path):
    rgb, depth = slambook
    cloud = write_pointcloud(
        rgb, depth, SLAMBOOK_K, tmp_path / "f1.ply", output_space="metric_depth"
    )
    valid = depth > 0
    assert len(cloud.points) == int(valid.sum()) == 209236  # 68.1 % of 640×480, SOURCE.md
    fx, fy, cx, cy = 518.0, 519.0, 325.5, 253.5
    for v, u in [(100, 50), (240, 320), (450, 300), (50, 500)]:
        assert valid[v, u]
        z = float(depth[v, u])
        i = int(np.searchsorted(cloud.pixels, v * 640 + u))
        assert cloud.pixels[i] == v * 640 + u
        expected = [(u - cx) * z / fx, (v - cy) * z / fy, z]
        np.testing.assert_allclose(cloud.points[i], expected, rtol=1e-5, atol=1e-6)
        assert cloud.colors[i].tolist() == rgb[v, u].tolist()

    ply = plyfile.PlyData.read(str(tmp_path / "f1.ply"))
    vertex = ply["vertex"].data
    assert ply.text is False and len(vertex) == int(valid.sum())
    stacked = np.stack([vertex["x"], vertex["y"], vertex["z"]], axis=1)
    np.testing.assert_array_equal(stacked, cloud.points)
    colours = np.stack([vertex["red"], vertex["green"], vertex["blue"]], axis=1)
    np.testing.assert_array_equal(colours, rgb.reshape(-1, 3)[valid.reshape(-1)])
    normals = np.stack([vertex["nx"], vertex["ny"], vertex["nz"]], axis=1)
    length = np.linalg.norm(normals, axis=1)
    defined = length > 0
    assert defined.mean() > 0.3  # Kinect noise rejects many, but walls and the floor remain
    np.testing.assert_allclose(length[defined], 1.0, atol=1e-5)
    # Normals face the camera: n · X < 0 for every visible surface.
    assert np.all(np.einsum("ij,ij->i", normals[defined], stacked[defined]) < 0)
    assert "units: metres" in ply.comments


def test_holes_are_dropped_never_put_at_the_camera_centre():
    K = np.array([[4.0, 0, 2], [0, 4.0, 2], [0, 0, 1]])
    depth = np.full((5, 5), 2.0, dtype=np.float32)
    depth[0, 0], depth[1, 1], depth[2, 2], depth[3, 3] = 0.0, np.nan, np.inf, -1.0
    cloud = rgbd_to_pointcloud(np.zeros((5, 5, 3), np.uint8), depth, K, output_space="metric_depth")
    assert len(cloud.points) == 21
    assert not set(cloud.pixels.tolist()) & {0, 6, 12, 18}
    assert np.all(np.isfinite(cloud.points)) and np.all(cloud.points[:, 2] == 2.0)
    with pytest.raises(ValueError, match="no valid pixel"):
        rgbd_to_pointcloud(
            np.zeros((5, 5, 3), np.uint8), np.zeros((5, 5)), K, output_space="metric_depth"
        )


def test_rendered_floor_back_projects_to_a_plane():
    from depthforge.synth import SynthDataset
    from depthforge.synth.scene import Label

    sample = SynthDataset(split="test", scenes=1, frames=1, size=(96, 72), kind="indoor")[0]
    rgb = (sample.image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    depth = sample.depth[0].numpy()
    cloud = rgbd_to_pointcloud(rgb, depth, sample.K.numpy(), output_space="metric_depth")
    assert len(cloud.points) == int(sample.mask.sum())
    floor = (sample.labels.numpy() == Label.FLOOR).reshape(-1)[cloud.pixels]
    assert floor.sum() > 200
    pts = cloud.points[floor].astype(np.float64)
    centred = pts - pts.mean(axis=0)
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    normal = vt[2]
    residual = np.abs(centred @ normal)
    assert residual.max() < 1e-4 * np.abs(pts[:, 2]).max()  # float32 rounding only
    assert sing[1] > 100 * sing[2]  # and it really is a 2-D spread, not a line
    # Normals from depth agree with the fitted plane where all 4 neighbours are floor too
    # (at the floor's edge the central differences mix in the touching surface).
    lab = np.pad(sample.labels.numpy() == Label.FLOOR, 1)
    inner = lab[1:-1, 1:-1] & lab[:-2, 1:-1] & lab[2:, 1:-1] & lab[1:-1, :-2] & lab[1:-1, 2:]
    n = cloud.normals[inner.reshape(-1)[cloud.pixels]]
    defined = np.linalg.norm(n, axis=1) > 0
    assert defined.sum() > 100
    np.testing.assert_allclose(np.abs(n[defined] @ normal), 1.0, atol=1e-3)


def test_mesh_drops_triangles_across_a_depth_step_and_keeps_a_slope():
    faces = grid_triangles(step_depth(2.0, 3.0))
    side = (np.arange(64) % 8) >= 4
    assert len(faces) == 2 * 2 * 7 * 3  # two 7×3-cell halves, two triangles per cell
    assert np.all(side[faces].all(axis=1) | ~side[faces].any(axis=1))  # none spans the step
    # The threshold: a 2.5 % step is a slope (kept), a 3.5 % step is an edge (cut).
    assert len(grid_triangles(step_depth(2.0, 2.05))) == 2 * 7 * 7
    assert len(grid_triangles(step_depth(2.0, 2.07))) == 2 * 2 * 7 * 3
    # A plane tilted 60° away from the view axis: inverse depth affine in u (f = 100).
    K = np.array([[100.0, 0, 3.5], [0, 100.0, 3.5], [0, 0, 1]])
    u = np.arange(8, dtype=np.float64)
    slope = np.tile(1.0 / (0.5 - np.tan(np.radians(60)) * 0.5 * (u - 3.5) / 100.0), (8, 1))
    cloud = rgbd_to_pointcloud(
        np.zeros((8, 8, 3), np.uint8), slope, K, output_space="metric_depth", mesh=True
    )
    assert len(cloud.faces) == 2 * 7 * 7 and len(cloud.points) == 64
    tri = cloud.points[cloud.faces].astype(np.float64)
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    face_n /= np.linalg.norm(face_n, axis=1, keepdims=True)
    assert np.all(np.einsum("ij,ij->i", face_n, tri.mean(axis=1)) < 0)  # wound towards us
    # Vertex normals: the depth normal inside, the face normal on the border; both = plane's.
    np.testing.assert_allclose(cloud.normals, np.broadcast_to(face_n[0], (64, 3)), atol=1e-5)


def test_files_round_trip(tmp_path):
    K = np.array([[8.0, 0, 3.5], [0, 8.0, 3.5], [0, 0, 1]])
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    depth = step_depth(2.0, 3.0)
    depth[0, 0] = 0.0
    cloud = write_pointcloud(
        rgb, depth, K, tmp_path / "m.ply", output_space="metric_depth", mesh=True
    )
    ply = plyfile.PlyData.read(str(tmp_path / "m.ply"))
    assert len(ply["vertex"].data) == len(cloud.points) == 63
    faces = np.stack(ply["face"].data["vertex_indices"])
    np.testing.assert_array_equal(faces, cloud.faces)
    write_pointcloud(rgb, depth, K, tmp_path / "m.obj", output_space="metric_depth", mesh=True)
    obj = trimesh.load(tmp_path / "m.obj", process=False)
    np.testing.assert_allclose(obj.vertices, cloud.points, atol=1e-6)
    np.testing.assert_array_equal(obj.faces, cloud.faces)
    write_pointcloud(rgb, depth, K, tmp_path / "m.glb", output_space="metric_depth", mesh=True)
    (glb,) = trimesh.load(tmp_path / "m.glb", process=False).geometry.values()
    flip = np.array([1.0, -1.0, -1.0])  # camera frame → glTF frame (+Y up, −Z forward)
    np.testing.assert_allclose(glb.vertices, cloud.points * flip, atol=1e-6)
    np.testing.assert_array_equal(glb.faces, cloud.faces)
    np.testing.assert_array_equal(glb.visual.vertex_colors[:, :3], cloud.colors)
    np.testing.assert_allclose(glb.vertex_normals, cloud.normals * flip, atol=1e-4)
    # Point clouds (no faces) in OBJ and GLB keep every point and its colour.
    points = write_pointcloud(rgb, depth, K, tmp_path / "p.obj", output_space="metric_depth")
    obj = trimesh.load(tmp_path / "p.obj", process=False)
    np.testing.assert_allclose(obj.vertices, points.points, atol=1e-6)
    np.testing.assert_array_equal(obj.colors[:, :3], points.colors)
    write_pointcloud(rgb, depth, K, tmp_path / "p.glb", output_space="metric_depth")
    (glb,) = trimesh.load(tmp_path / "p.glb", process=False).geometry.values()
    np.testing.assert_allclose(glb.vertices, points.points * flip, atol=1e-6)
    np.testing.assert_array_equal(glb.colors[:, :3], points.colors)


def test_relative_depth_is_refused_unless_scaled_or_explicitly_unitless(tmp_path):
    K = np.array([[4.0, 0, 2], [0, 4.0, 2], [0, 0, 1]])
    rgb, rel = np.zeros((5, 5, 3), np.uint8), np.full((5, 5), 0.5, np.float32)
    with pytest.raises(OutputSpaceError, match="scale=.*allow_unit_scale"):
        write_pointcloud(rgb, rel, K, tmp_path / "r.ply", output_space="scale_invariant_depth")
    assert not (tmp_path / "r.ply").exists()
    metric = rgbd_to_pointcloud(rgb, rel * 4.0, K, output_space=OutputSpace.METRIC_DEPTH)
    scaled = rgbd_to_pointcloud(rgb, rel, K, output_space="scale_invariant_depth", scale=4.0)
    np.testing.assert_array_equal(scaled.points, metric.points)
    assert scaled.metric
    for space in ("affine_invariant_depth", "affine_invariant_disparity"):
        with pytest.raises(OutputSpaceError, match="scale AND shift"):
            rgbd_to_pointcloud(rgb, rel, K, output_space=space, scale=4.0)
    with pytest.raises(OutputSpaceError, match="already"):
        rgbd_to_pointcloud(rgb, rel, K, output_space="metric_depth", scale=4.0)
    for space in ("log_depth", "ordinal"):
        with pytest.raises(OutputSpaceError):
            rgbd_to_pointcloud(rgb, rel, K, output_space=space, allow_unit_scale=True)
    write_pointcloud(
        rgb, rel, K, tmp_path / "u.ply", output_space="scale_invariant_depth", allow_unit_scale=True
    )
    comments = plyfile.PlyData.read(str(tmp_path / "u.ply")).comments
    assert any("arbitrary units" in c and "not metres" in c for c in comments)
    disparity = rgbd_to_pointcloud(
        rgb, rel, K, output_space="affine_invariant_disparity", allow_unit_scale=True
    )
    assert np.all(disparity.points[:, 2] == 2.0)  # 1 / 0.5


def test_size_mismatch_names_both_sizes():
    K = np.eye(3)
    with pytest.raises(ValueError, match="320×240.*640×480"):
        rgbd_to_pointcloud(
            np.zeros((480, 640, 3), np.uint8), np.ones((240, 320)), K, output_space="metric_depth"
        )
    with pytest.raises(ValueError, match="unknown point-cloud format '.xyz'"):
        write_pointcloud(
            np.zeros((4, 4, 3), np.uint8), np.ones((4, 4)), K, "c.xyz", output_space="metric_depth"
        )


def test_intrinsics_from_fov_or_file(tmp_path):
    K = resolve_intrinsics(640, 480, fov=90.0)
    np.testing.assert_allclose(K, [[320, 0, 319.5], [0, 320, 239.5], [0, 0, 1]])
    full = tmp_path / "k.json"
    full.write_text(json.dumps({"K": SLAMBOOK_K.tolist()}))
    np.testing.assert_array_equal(resolve_intrinsics(640, 480, intrinsics=full), SLAMBOOK_K)
    fields = tmp_path / "f.json"
    fields.write_text(json.dumps({"fx": 518.0, "fy": 519.0, "cx": 325.5, "cy": 253.5}))
    np.testing.assert_array_equal(resolve_intrinsics(640, 480, intrinsics=fields), SLAMBOOK_K)
    fields.write_text(json.dumps({"fx": 518.0, "fy": 519.0}))
    with pytest.raises(DataError, match="f.json: intrinsics lack cx, cy"):
        resolve_intrinsics(640, 480, intrinsics=fields)
    focal = 320 / np.tan(np.radians(30))  # neither: a 60° horizontal field of view
    np.testing.assert_allclose(
        resolve_intrinsics(640, 480), [[focal, 0, 319.5], [0, focal, 239.5], [0, 0, 1]]
    )
    with pytest.raises(ValueError, match="not both"):
        resolve_intrinsics(640, 480, intrinsics=full, fov=60.0)


def test_pointcloud_command_from_depth_file_and_from_model(shared_data, tmp_path):
    root = shared_data / "slambook2_rgbd_5frames"
    intr = tmp_path / "k.json"
    intr.write_text(json.dumps({"fx": 518.0, "fy": 519.0, "cx": 325.5, "cy": 253.5}))
    out = tmp_path / "frame.ply"
    with pytest.raises(DataError, match="--depth-kind"):
        pointcloud_command(
            root / "color/1.png", out, DepthSource(root / "depth/1.pgm"), intrinsics=intr
        )
    summary = pointcloud_command(
        root / "color/1.png",
        out,
        # Pillow decodes 16-bit PGM big-endian, as the PGM spec says
        DepthSource(root / "depth/1.pgm", kind="png16", scale=1000.0),
        intrinsics=intr,
    )
    assert summary.points == summary.valid_pixels == 209236 and summary.units == "metres"
    with pytest.raises(DataError, match="already exists"):
        pointcloud_command(root / "color/1.png", out, DepthSource(root / "depth/1.pgm"), fov=60.0)

    from depthforge.models import create_model, save_model

    torch.manual_seed(0)
    model = save_model(create_model("fcrn_resnet18", input_size=(32, 32)), tmp_path / "model")
    small = tmp_path / "small.png"
    Image.open(root / "color/1.png").convert("RGB").resize((40, 30)).save(small)
    summary = pointcloud_command(
        small, tmp_path / "pred.glb", DepthSource(model=model), fov=60.0, mesh=True
    )
    assert summary.output_space is OutputSpace.METRIC_DEPTH  # log depth exponentiated
    assert summary.valid_pixels == 1200 and summary.faces > 0


def brute_force_points(depth: np.ndarray, K: np.ndarray) -> tuple[list, list]:
    """One pixel at a time: solve ``K X = z [u, v, 1]ᵀ`` for every pixel with depth."""
    points, pixels = [], []
    for v in range(depth.shape[0]):
        for u in range(depth.shape[1]):
            z = float(depth[v, u])
            if np.isfinite(z) and z > 0:
                points.append(np.linalg.solve(K, z * np.array([u, v, 1.0])))
                pixels.append(v * depth.shape[1] + u)
    return points, pixels


def test_points_without_normals_equal_a_per_pixel_solve():
    # Hand-checkable K with skew: fx = 4, s = 1, cx = 2, fy = 2, cy = 1.
    K = np.array([[4.0, 1.0, 2.0], [0.0, 2.0, 1.0], [0.0, 0.0, 1.0]])
    depth = np.array(
        [[2.0, 0.0, 1.0, 3.0, 4.0], [np.nan, 1.5, 2.5, -1.0, 2.0], [1.0, 1.0, np.inf, 0.5, 8.0]],
        np.float32,
    )
    rgb = np.arange(45, dtype=np.uint8).reshape(3, 5, 3)
    cloud = rgbd_to_pointcloud(rgb, depth, K, output_space="metric_depth", normals=False)
    points, pixels = brute_force_points(depth, K)
    np.testing.assert_array_equal(cloud.pixels, pixels)
    np.testing.assert_allclose(cloud.points, points, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(cloud.colors, rgb.reshape(-1, 3)[pixels])
    assert cloud.normals is None
    # by hand at (u, v) = (4, 2), z = 8: y = (v − cy)·z/fy = (2 − 1)·8/2 = 4 and
    # x = (u − cx − s·(v − cy)/fy)·z/fx = (4 − 2 − 1·1/2)·8/4 = 3
    np.testing.assert_allclose(cloud.points[-1], [3.0, 4.0, 8.0])
    # the same points as the path with normals
    with_normals = rgbd_to_pointcloud(rgb, depth, K, output_space="metric_depth")
    np.testing.assert_allclose(cloud.points, with_normals.points, rtol=1e-6, atol=1e-6)


def test_points_without_normals_write_a_ply_without_normal_fields(tmp_path):
    K = np.array([[2.0, 0, 1], [0, 2.0, 1], [0, 0, 1]])
    rgb, depth = np.zeros((3, 3, 3), np.uint8), np.full((3, 3), 2.0, np.float32)
    cloud = write_pointcloud(
        rgb, depth, K, tmp_path / "c.ply", output_space="metric_depth", normals=False
    )
    ply = plyfile.PlyData.read(str(tmp_path / "c.ply"))
    names = [p.name for p in ply["vertex"].properties]
    assert names == ["x", "y", "z", "red", "green", "blue"]
    np.testing.assert_array_equal(ply["vertex"]["z"], cloud.points[:, 2])
    assert "no normals" in ply.comments
    for suffix in (".obj", ".glb"):
        write_pointcloud(
            rgb, depth, K, tmp_path / f"c{suffix}", output_space="metric_depth", normals=False
        )
        assert (tmp_path / f"c{suffix}").stat().st_size > 0


def test_points_without_normals_refuse_a_non_pinhole_K():
    K = np.array([[2.0, 0, 1], [0, 2.0, 1], [0.1, 0, 1]])
    with pytest.raises(ValueError, match="pinhole"):
        rgbd_to_pointcloud(
            np.zeros((3, 3, 3), np.uint8),
            np.ones((3, 3), np.float32),
            K,
            output_space="metric_depth",
            normals=False,
        )
