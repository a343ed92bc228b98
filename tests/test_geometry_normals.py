"""Specification of ``normals_from_depth`` (PyTorch) and ``normal_map`` (NumPy, the same
function for ``depthforge pointcloud``): exact on planes, facing the camera, invalid across
discontinuities; the PyTorch form differentiable. The geometric cases run on both forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depthforge.geometry import grid_normals
from depthforge.geometry.grid_normals import normal_map
from depthforge.geometry.normals import normals_from_depth

K = torch.tensor([[40.0, 0.0, 15.5], [0.0, 40.0, 11.5], [0.0, 0.0, 1.0]], dtype=torch.float64)
H, W = 24, 32


def rays() -> torch.Tensor:
    """``(3, H, W)`` K⁻¹[u, v, 1] written out for zero skew (independent of backproject)."""
    v, u = torch.meshgrid(
        torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij"
    )
    return torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)])


def plane_depth(normal: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """``(1, 1, H, W)`` z-depth of the plane ``n·X = n·point``: z = (n·point) / (n·r)."""
    r = rays()
    return ((normal @ point) / torch.einsum("c,chw->hw", normal, r))[None, None]


def numpy_normals(depth, K, mask=None, *, tolerance=0.02):
    """``normal_map`` on each ``(1, 1, H, W)`` tensor's array, returned in the tensor layout."""
    assert depth.shape[0] == 1
    m = None if mask is None else mask[0, 0].numpy()
    normals, valid = normal_map(depth[0, 0].numpy(), K.numpy(), m, tolerance=tolerance)
    return torch.from_numpy(normals).permute(2, 0, 1)[None], torch.from_numpy(valid)[None, None]


@pytest.fixture(params=["torch", "numpy"])
def normals_fn(request):
    """Each geometric case runs on ``normals_from_depth`` and on ``normal_map``."""
    return normals_from_depth if request.param == "torch" else numpy_normals


def angle_deg(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle between ``(3, ...)`` vectors, accurate near 0 (atan2 of |a × b| and a · b)."""
    b = b.expand_as(a)
    return torch.rad2deg(torch.atan2(torch.cross(a, b, dim=0).norm(dim=0), (a * b).sum(dim=0)))


def test_fronto_parallel_plane_faces_the_camera_and_border_is_invalid(normals_fn):
    normals, valid = normals_fn(torch.full((1, 1, H, W), 2.5, dtype=torch.float64), K)
    assert valid[0, 0, 1:-1, 1:-1].all()
    assert not valid[0, 0, 0].any() and not valid[0, 0, -1].any()
    assert not valid[0, 0, :, 0].any() and not valid[0, 0, :, -1].any()
    expected = torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64)
    assert torch.allclose(
        normals[0, :, 1:-1, 1:-1], expected[:, None, None].expand(3, H - 2, W - 2)
    )
    assert (normals[0, :, 0] == 0).all()


def test_tilted_plane_normal_is_exact(normals_fn):
    n = torch.tensor([0.3, -0.5, -1.0], dtype=torch.float64)
    n = n / n.norm()
    depth = plane_depth(n, torch.tensor([0.0, 0.0, 4.0], dtype=torch.float64))
    normals, valid = normals_fn(depth, K)
    assert valid[0, 0, 1:-1, 1:-1].all()
    err = angle_deg(normals[0], n[:, None, None])[valid[0, 0]]
    assert err.max() < 1e-5


def test_steep_plane_at_grazing_angle_stays_valid(normals_fn):
    # A floor 1 m below the camera seen almost edge-on: depth changes by tens of percent per row,
    # yet the surface is a plane, so every interior pixel below the horizon is valid.
    n = torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)  # floor normal, pointing up (−y)
    depth = plane_depth(n, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    below = torch.arange(H) > K[1, 2] + 1  # rows whose rays hit the floor in front
    depth = torch.where(below[None, None, :, None], depth, torch.zeros_like(depth))
    top = int(below.nonzero()[:, 0].min())
    assert (depth[0, 0, top + 1, 5] - depth[0, 0, top, 5]).abs() / depth[0, 0, top + 1, 5] > 0.2
    normals, valid = normals_fn(depth, K)
    assert valid[0, 0, top + 1 : -1, 1:-1].all()
    assert not valid[0, 0, top].any()  # its upper neighbour has no depth
    err = angle_deg(normals[0], n[:, None, None])[valid[0, 0]]
    assert err.max() < 1e-5


def test_depth_step_invalidates_the_pixels_beside_it(normals_fn):
    depth = torch.full((1, 1, H, W), 2.0, dtype=torch.float64)
    depth[..., 16:] = 4.0
    _, valid = normals_fn(depth, K)
    assert not valid[0, 0, 1:-1, 15].any() and not valid[0, 0, 1:-1, 16].any()
    assert valid[0, 0, 1:-1, 1:15].all() and valid[0, 0, 1:-1, 17:-1].all()


def test_crease_between_two_planes_is_invalid(normals_fn):
    # A concave corner: plane x = −(z − 5) on the left, x = z − 5 on the right, seen from x = 0.
    left = plane_depth(
        torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64) / math.sqrt(2),
        torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64),
    )
    right = plane_depth(
        torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64) / math.sqrt(2),
        torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64),
    )
    depth = torch.minimum(left, right)  # the visible surface is the nearer plane
    _, valid = normals_fn(depth, K)
    # The corner (x = 0) projects to u = c_x = 15.5, between columns 15 and 16: both of them have
    # a neighbour on the other plane; every other interior pixel sees one plane only.
    assert not valid[0, 0, 1:-1, 15:17].any()
    assert valid[0, 0, 1:-1, 1:15].all() and valid[0, 0, 1:-1, 17:-1].all()


def test_missing_depth_invalidates_itself_and_its_four_neighbours(normals_fn):
    depth = torch.full((1, 1, H, W), 3.0, dtype=torch.float64)
    depth[0, 0, 10, 12] = 0.0
    _, valid = normals_fn(depth, K)
    for v, u in [(10, 12), (9, 12), (11, 12), (10, 11), (10, 13)]:
        assert not valid[0, 0, v, u]
    assert valid[0, 0, 9, 11] and valid[0, 0, 11, 13]  # diagonal neighbours are not used


def test_explicit_mask_is_respected(normals_fn):
    depth = torch.full((1, 1, H, W), 3.0, dtype=torch.float64)
    mask = torch.ones_like(depth, dtype=torch.bool)
    mask[0, 0, 5, 5] = False
    _, valid = normals_fn(depth, K, mask)
    assert not valid[0, 0, 5, 5] and not valid[0, 0, 5, 6]


def test_sphere_normals_match_the_analytic_normals(normals_fn):
    centre, radius = torch.tensor([0.2, -0.1, 3.0], dtype=torch.float64), 1.2
    r = rays()
    # Nearest root of |t r − c|² = R² (t is the z-depth because r_z = 1).
    a = (r * r).sum(0)
    b = torch.einsum("chw,c->hw", r, centre)
    disc = b * b - a * (centre @ centre - radius**2)
    hit = disc > 0
    t = torch.where(hit, (b - torch.sqrt(disc.clamp(min=0))) / a, torch.zeros_like(a))
    points = r * t
    analytic = (points - centre[:, None, None]) / radius
    normals, valid = normals_fn(t[None, None], K)
    assert valid.sum() > 200
    err = angle_deg(normals[0], analytic)[valid[0, 0]]
    assert err.mean() < 0.5


def test_normals_face_the_camera(normals_fn):
    torch.manual_seed(0)
    n = torch.nn.functional.normalize(torch.randn(3, dtype=torch.float64), dim=0)
    n = -n if n[2] > 0 else n  # a visible plane faces the camera
    depth = plane_depth(n, torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64))
    depth = torch.where(depth > 0, depth, torch.zeros_like(depth))
    normals, valid = normals_fn(depth, K)
    facing = (normals[0] * (rays() * depth[0])).sum(0)
    assert (facing[valid[0, 0]] < 0).all()


def test_batched_K_equals_shared_K():
    depth = 2.0 + torch.rand(
        2, 1, H, W, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    shared = normals_from_depth(depth, K, tolerance=math.inf)
    batched = normals_from_depth(depth, K.expand(2, 3, 3), tolerance=math.inf)
    assert torch.equal(shared[1], batched[1])
    assert torch.allclose(shared[0], batched[0])


def test_gradcheck_float64():
    gen = torch.Generator().manual_seed(3)
    depth = (
        2.0 + 0.1 * torch.rand(1, 1, 5, 6, dtype=torch.float64, generator=gen)
    ).requires_grad_()

    def fn(d: torch.Tensor) -> torch.Tensor:
        return normals_from_depth(d, K, tolerance=math.inf)[0]

    assert torch.autograd.gradcheck(fn, (depth,))


@pytest.mark.parametrize(
    ("shape", "message"), [((1, 2, 5, 5), r"\(B, 1, H, W\)"), ((1, 1, 2, 5), "at least 3×3")]
)
def test_bad_shapes_are_refused(shape, message):
    with pytest.raises(ValueError, match=message):
        normals_from_depth(torch.ones(shape), K)


def test_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="mask must have the shape"):
        normals_from_depth(torch.ones(1, 1, 5, 5), K, torch.ones(1, 1, 4, 5, dtype=torch.bool))


@pytest.mark.parametrize("band_rows", [32, 5, 1])  # one band; seams between bands
def test_numpy_and_torch_forms_agree_on_a_scene_with_holes_steps_and_slopes(band_rows, monkeypatch):
    monkeypatch.setattr(grid_normals, "BAND_ROWS", band_rows)
    gen = torch.Generator().manual_seed(5)
    v, u = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    depth = 2.0 + 0.05 * u + 0.02 * v  # a slanted plane in depth (curved in space)
    depth = torch.where((u > 20) & (v < 12), 1.2 + 0.01 * u, depth)  # a box in front
    depth = depth + 1e-3 * torch.rand(H, W, generator=gen)  # some noise, some pixels rejected
    depth[torch.rand(H, W, generator=gen) < 0.05] = 0.0  # holes
    depth = depth.float()[None, None]
    want_n, want_ok = normals_from_depth(depth, K.float())
    got_n, got_ok = numpy_normals(depth, K.float())
    assert torch.equal(got_ok, want_ok)  # the test reads depth only, in the same precision
    assert 50 < int(want_ok.sum()) < H * W
    assert torch.allclose(got_n, want_n, atol=2e-5, rtol=0)
    assert got_n.dtype == torch.float32


@pytest.mark.parametrize(("shape", "message"), [((5,), r"\(H, W\)"), ((2, 5), "at least 3×3")])
def test_numpy_form_refuses_bad_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        normal_map(np.ones(shape, np.float32), K.numpy())
    with pytest.raises(ValueError, match="mask must have the shape"):
        normal_map(np.ones((5, 5)), K.numpy(), np.ones((4, 5), bool))
