"""Joint and photometric transforms: K, depth, mask, pairs, normals and poses stay consistent."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from depthforge.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    EigenScale,
    HorizontalFlip,
    RandomCrop,
    Resize,
    Rotation,
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_saturation,
    crop,
    eigen_scale,
    hflip,
    resize,
    roll_matrix,
    rotate,
    scale_colors,
)
from depthforge.types import Sample, Stereo

H, W = 24, 32


def coded_sample(h: int = H, w: int = W, K: torch.Tensor | None = None, depth: float = 2.0):
    """Image channels encode the source pixel: R = (u + ½)/W, G = (v + ½)/H (linear, so bilinear
    resampling returns the exact source coordinates); constant depth; all valid."""
    v, u = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    image = torch.stack([(u + 0.5) / w, (v + 0.5) / h, torch.full_like(u, 0.5)]).float()
    if K is None:
        K = torch.tensor([[30.0, 0.0, 14.3], [0.0, 22.0, 10.8], [0.0, 0.0, 1.0]])  # fx != fy
    return Sample(
        image=image,
        depth=torch.full((1, h, w), depth),
        mask=torch.ones(1, h, w, dtype=torch.bool),
        K=K,
    )


def decode(image: torch.Tensor, h: int = H, w: int = W) -> tuple[torch.Tensor, torch.Tensor]:
    """Source pixel coordinates (u, v) encoded in a transformed coded image."""
    return image[0].double() * w - 0.5, image[1].double() * h - 0.5


def interior(mask: torch.Tensor, margin: int) -> torch.Tensor:
    """``mask`` eroded by ``margin`` pixels, and away from the image border by ``margin``."""
    eroded = -F.max_pool2d(-(mask.float()[None]), 2 * margin + 1, stride=1, padding=margin)
    keep = eroded[0] > 0.5
    keep[:margin] = keep[-margin:] = False
    keep[:, :margin] = keep[:, -margin:] = False
    return keep


# Each case: transform, map from new-camera 3-D points to old-camera ones, margin to skip.
ROT = roll_matrix(17.0)
K_CASES = {
    # antialiasing averages over a footprint whose discrete triangle weights are not exactly
    # centred, shifting content by up to ~0.1 px; the geometry is checked without it
    "resize_down": (
        lambda s: resize(s, (12, 20), antialias=False),
        torch.eye(3, dtype=torch.float64),
        1,
    ),
    "resize_up": (lambda s: resize(s, (37, 45)), torch.eye(3, dtype=torch.float64), 2),
    "crop": (lambda s: crop(s, 3, 5, 15, 20), torch.eye(3, dtype=torch.float64), 1),
    "flip": (hflip, torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)), 1),
    "eigen_scale": (lambda s: eigen_scale(s, 1.25), 1.25 * torch.eye(3, dtype=torch.float64), 2),
    "rotate": (lambda s: rotate(s, 17.0), ROT.T, 2),
}


@pytest.mark.parametrize("name", list(K_CASES))
def test_new_K_and_depth_back_project_to_the_same_scene_points(name):
    transform, new_to_old, margin = K_CASES[name]
    s = coded_sample()
    out = transform(s)
    h2, w2 = out.size
    keep = interior(out.mask[0], margin)
    assert keep.sum() > 50
    v, u = torch.meshgrid(
        torch.arange(h2, dtype=torch.float64), torch.arange(w2, dtype=torch.float64), indexing="ij"
    )
    pix = torch.stack([u[keep], v[keep], torch.ones_like(u[keep])])
    points_new = out.depth[0][keep].double() * torch.linalg.solve(out.K.double(), pix)
    points_old = new_to_old @ points_new
    u_dec, v_dec = decode(out.image)
    pix_old = torch.stack([u_dec[keep], v_dec[keep], torch.ones_like(u_dec[keep])])
    expected = 2.0 * torch.linalg.solve(s.K.double(), pix_old)  # original depth is 2 m
    torch.testing.assert_close(points_old, expected, atol=2e-4, rtol=0)


def holed_sample(seed: int = 0) -> Sample:
    g = torch.Generator().manual_seed(seed)
    depth = torch.rand(1, H, W, generator=g) * 9 + 1
    mask = torch.rand(1, H, W, generator=g) > 0.3
    return replace(coded_sample(), depth=torch.where(mask, depth, 0.0), mask=mask)


MASK_CASES = {
    "resize_down": lambda s: resize(s, (10, 13)),
    "resize_up": lambda s: resize(s, (50, 70)),
    "crop": lambda s: crop(s, 2, 3, 10, 11),
    "flip": hflip,
    "rotate": lambda s: rotate(s, -8.0),
}


@pytest.mark.parametrize("name", list(MASK_CASES))
def test_depth_is_never_interpolated_and_mask_matches_depth(name):
    s = holed_sample()
    out = MASK_CASES[name](s)
    assert out.mask.dtype == torch.bool and out.depth.dtype == torch.float32
    assert not torch.isnan(out.depth).any()
    assert torch.equal(out.mask, out.depth > 0)
    measured = set(s.depth[s.mask].tolist())
    assert set(out.depth[out.mask].tolist()) <= measured


def test_eigen_scale_divides_depth_and_keeps_depth_ratios():
    s = holed_sample()
    out = eigen_scale(s, 1.5)
    assert out.size == (36, 48)
    assert torch.equal(out.mask, out.depth > 0)
    # every depth is an original one divided by s, so ratios between depths are unchanged
    gap = (out.depth[out.mask][:, None] * 1.5 - s.depth[s.mask][None, :]).abs().min(dim=1).values
    assert gap.max() < 1e-5
    assert out.K[0, 0] == pytest.approx(1.5 * float(s.K[0, 0]))
    assert out.K[1, 1] == pytest.approx(1.5 * float(s.K[1, 1]))


def test_rotation_marks_out_of_frame_pixels_invalid_and_keeps_K():
    s = replace(coded_sample(), K=None)
    out = rotate(s, 30.0)
    assert out.K is None
    for r, c in ((0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)):
        assert not out.mask[0, r, c] and out.depth[0, r, c] == 0
    assert out.mask[0, H // 2, W // 2]
    k = coded_sample()
    assert torch.equal(rotate(k, 12.0).K, k.K)


def test_rotation_by_90_degrees_about_the_centre_is_rot90():
    n = 9
    K = torch.tensor([[10.0, 0.0, 4.0], [0.0, 10.0, 4.0], [0.0, 0.0, 1.0]])
    depth = torch.arange(1.0, n * n + 1).reshape(1, n, n)
    s = Sample(
        image=torch.rand(3, n, n, generator=torch.Generator().manual_seed(1)),
        depth=depth,
        mask=torch.ones(1, n, n, dtype=torch.bool),
        K=K,
        labels=torch.arange(n * n).reshape(n, n),
        normals=torch.tensor([0.6, 0.0, -0.8]).view(3, 1, 1).expand(3, n, n).clone(),
    )
    out = rotate(s, 90.0)
    # torch.rot90(k=1) over (H, W) turns the content counter-clockwise on screen
    assert torch.equal(out.depth, torch.rot90(depth, 1, (-2, -1)))
    assert torch.equal(out.labels, torch.rot90(s.labels, 1, (-2, -1)))
    torch.testing.assert_close(out.image, torch.rot90(s.image, 1, (-2, -1)), atol=1e-5, rtol=0)
    assert out.mask.all()
    # the camera rolled: a normal pointing right (x) now points up (−y)
    torch.testing.assert_close(
        out.normals[:, 0, 0], torch.tensor([0.0, -0.6, -0.8]), atol=1e-6, rtol=0
    )


def test_rotation_pose_keeps_world_points_fixed():
    pose = torch.eye(4)
    pose[:3, 3] = torch.tensor([1.0, -2.0, 0.5])
    pose[:3, :3] = roll_matrix(40.0).float().T @ roll_matrix(-10.0).float()
    s = replace(coded_sample(), pose=pose)
    out = rotate(s, 17.0)
    x_world = torch.tensor([0.3, 0.7, 4.0, 1.0], dtype=torch.float64)
    x_old = torch.linalg.solve(pose.double(), x_world)[:3]
    x_new = torch.linalg.solve(out.pose.double(), x_world)[:3]
    torch.testing.assert_close(x_new, roll_matrix(17.0) @ x_old, atol=1e-5, rtol=0)


def full_sample() -> Sample:
    g = torch.Generator().manual_seed(2)
    s = holed_sample()
    normals = F.normalize(torch.randn(3, H, W, generator=g), dim=0)
    pose = torch.eye(4)
    pose[:3, 3] = torch.tensor([0.5, 0.1, -2.0])
    return replace(
        s,
        normals=normals,
        labels=torch.randint(0, 5, (H, W), generator=g),
        neighbours=torch.rand(2, 3, H, W, generator=g),
        pose=pose,
        neighbour_poses=torch.eye(4).repeat(2, 1, 1),
        pairs=torch.tensor([[0, 0, 5, 7], [23, 31, 1, 2]]),
        relations=torch.tensor([1, -1]),
    )


def test_flip_twice_is_identity_on_every_field():
    s = full_sample()
    twice = hflip(hflip(s))
    torch.testing.assert_close(twice.K, s.K)  # cx -> W − 1 − cx -> cx up to float rounding
    for name in (
        "image",
        "depth",
        "mask",
        "normals",
        "labels",
        "neighbours",
        "pose",
        "neighbour_poses",
        "pairs",
        "relations",
    ):
        assert torch.equal(getattr(twice, name), getattr(s, name)), name


def test_flip_mirrors_pixels_normals_and_pairs_by_hand():
    s = full_sample()
    out = hflip(s)
    assert torch.equal(out.depth[0, :, 0], s.depth[0, :, W - 1])
    assert torch.equal(out.normals[0], -s.normals[0].flip(-1))
    assert torch.equal(out.normals[1:], s.normals[1:].flip(-1))
    assert out.pairs.tolist() == [[0, 31, 5, 24], [23, 0, 1, 29]]
    assert out.K[0, 2] == pytest.approx(W - 1 - float(s.K[0, 2]))


def id_sample(h: int, w: int, n_pairs: int = 40) -> Sample:
    """Depth = 1 + pixel index (unique values); relations derived from the depth at the pairs."""
    g = torch.Generator().manual_seed(3)
    depth = (torch.arange(h * w, dtype=torch.float32) + 1).reshape(1, h, w)
    ys = torch.randint(0, h, (n_pairs, 2), generator=g)
    xs = torch.randint(0, w, (n_pairs, 2), generator=g)
    pairs = torch.stack([ys[:, 0], xs[:, 0], ys[:, 1], xs[:, 1]], dim=1)
    return replace(
        coded_sample(h, w), depth=depth, pairs=pairs, relations=relations_of(depth, pairs)
    )


def relations_of(depth: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    za = depth[0, pairs[:, 0], pairs[:, 1]]
    zb = depth[0, pairs[:, 2], pairs[:, 3]]
    return torch.sign(za - zb).long()


def depth_at(sample: Sample, point: int) -> torch.Tensor:
    """Depth under point A (``point=0``) or B (``point=1``) of every pair."""
    return sample.depth[0, sample.pairs[:, 2 * point], sample.pairs[:, 2 * point + 1]]


@pytest.mark.parametrize(
    "transform, size",
    [
        (hflip, (H, W)),
        (lambda s: resize(s, (2 * H, 3 * W)), (H, W)),
        (lambda s: rotate(replace(s, K=None), 90.0), (9, 9)),
        (lambda s: rotate(s, 180.0), (9, 9)),
    ],
    ids=["flip", "resize_up_x2_x3", "rotate90", "rotate180_with_K"],
)
def test_pairs_follow_their_pixels_and_keep_their_relations(transform, size):
    s = id_sample(*size)
    if s.K is not None:  # principal point at the centre so that 180° maps pixels onto pixels
        s = replace(s, K=torch.tensor([[7.0, 0.0, 4.0], [0.0, 7.0, 4.0], [0.0, 0.0, 1.0]]))
    out = transform(s)
    assert out.pairs.dtype == torch.int64 and len(out.pairs) == len(s.pairs)
    # depth is unique per source pixel: each moved point reads the value of its old pixel
    assert torch.equal(depth_at(out, 0), depth_at(s, 0))
    assert torch.equal(depth_at(out, 1), depth_at(s, 1))
    assert torch.equal(out.relations, relations_of(out.depth, out.pairs))


def test_crop_shifts_pairs_and_drops_those_leaving_the_window():
    s = replace(
        coded_sample(),
        pairs=torch.tensor([[5, 6, 10, 12], [0, 0, 5, 6], [14, 17, 5, 6]]),
        relations=torch.tensor([1, -1, 0]),
    )
    out = crop(s, 5, 6, 10, 12)
    assert out.pairs.tolist() == [[0, 0, 5, 6], [9, 11, 0, 0]]
    assert out.relations.tolist() == [1, 0]


def test_resize_maps_pairs_by_pixel_centres():
    s = replace(
        coded_sample(),
        pairs=torch.tensor([[0, 0, 23, 31], [3, 5, 12, 16]]),
        relations=torch.tensor([1, -1]),
    )
    out = resize(s, (12, 8))  # y: floor((y + ½)/2), x: floor((x + ½)/4)
    assert out.pairs.tolist() == [[0, 0, 11, 7], [1, 1, 6, 4]]
    up = resize(s, (48, 64))  # ×2: floor(2y + 1)
    assert up.pairs.tolist() == [[1, 1, 47, 63], [7, 11, 25, 33]]
    src = s.depth  # integer upsampling with nearest-exact: each moved pair reads its old pixel
    assert torch.equal(
        up.depth[0, up.pairs[:, 0], up.pairs[:, 1]], src[0, s.pairs[:, 0], s.pairs[:, 1]]
    )


def test_stereo_pairs_crop_together_scale_baseline_and_refuse_flip():
    right = torch.rand(3, H, W, generator=torch.Generator().manual_seed(4))
    s = replace(coded_sample(), stereo=Stereo(image=right, baseline=0.54))
    cropped = crop(s, 1, 2, 10, 20)
    assert torch.equal(cropped.stereo.image, right[:, 1:11, 2:22])
    assert eigen_scale(s, 1.2).stereo.baseline == pytest.approx(0.45)
    with pytest.raises(ValueError, match="stereo pair"):
        hflip(s)
    with pytest.raises(ValueError, match="belong to the left view"):
        hflip(s, stereo="swap")  # this sample has depth
    with pytest.raises(ValueError, match="rectification"):
        rotate(s, 3.0)
    no_depth = replace(s, depth=torch.zeros(1, H, W), mask=torch.zeros(1, H, W, dtype=torch.bool))
    swapped = hflip(no_depth, stereo="swap")
    assert torch.equal(swapped.image, right.flip(-1))
    assert torch.equal(swapped.stereo.image, s.image.flip(-1))
    assert swapped.stereo.baseline == 0.54


def test_random_transforms_are_reproducible_from_the_generator():
    pipeline = Compose(
        [
            EigenScale((1.0, 1.5)),
            RandomCrop((20, 28)),
            HorizontalFlip(),
            Rotation(5.0),
            ColorJitter(brightness=(0.8, 1.2), color_scale=(0.8, 1.2)),
        ]
    )
    s = holed_sample()
    a = pipeline(s, torch.Generator().manual_seed(7))
    b = pipeline(s, torch.Generator().manual_seed(7))
    assert torch.equal(a.image, b.image) and torch.equal(a.depth, b.depth) and torch.equal(a.K, b.K)
    outs = {
        tuple(pipeline(s, torch.Generator().manual_seed(k)).K.flatten().tolist()) for k in range(6)
    }
    assert len(outs) > 1


def test_random_crop_covers_every_position_and_center_crop_is_centred():
    g = torch.Generator().manual_seed(0)
    s = coded_sample(6, 5)
    seen = {float(RandomCrop((4, 4))(s, g).K[0, 2]) for _ in range(200)}
    assert seen == {float(s.K[0, 2]) - left for left in (0, 1)}
    out = CenterCrop((3, 2))(s)  # top = (6 − 3)//2 = 1, left = (5 − 2)//2 = 1
    assert torch.equal(out.image, s.image[:, 1:4, 1:3])


def test_bad_arguments_name_the_problem():
    s = coded_sample()
    with pytest.raises(ValueError, match="not inside the 24×32 image"):
        crop(s, 20, 0, 10, 10)
    with pytest.raises(ValueError, match="size must be"):
        Resize((0, 4))
    with pytest.raises(ValueError, match="larger than"):
        RandomCrop((30, 10))(s)
    with pytest.raises(ValueError, match="scale must be positive"):
        eigen_scale(s, 0.0)
    with pytest.raises(ValueError, match="brightness"):
        ColorJitter(brightness=(1.2, 0.8))


# ------------------------------------------------------------------------------ photometric

PIXELS = torch.tensor([[[0.2, 0.6]], [[0.4, 0.8]], [[0.5, 1.0]]])  # (3, 1, 2)


def test_photometric_functions_by_hand():
    torch.testing.assert_close(
        adjust_brightness(PIXELS, 2.0)[:, 0, 0], torch.tensor([0.4, 0.8, 1.0])
    )
    luma = 0.299 * PIXELS[0] + 0.587 * PIXELS[1] + 0.114 * PIXELS[2]  # (1, 2)
    torch.testing.assert_close(adjust_saturation(PIXELS, 0.0), luma.expand(3, 1, 2))
    torch.testing.assert_close(adjust_contrast(PIXELS, 0.0), luma.mean().expand(3, 1, 2))
    torch.testing.assert_close(adjust_contrast(PIXELS, 1.0), PIXELS)
    torch.testing.assert_close(adjust_gamma(PIXELS, 2.0), PIXELS**2)
    torch.testing.assert_close(
        scale_colors(PIXELS, [1.0, 0.5, 1.2])[:, 0, 1], torch.tensor([0.6, 0.4, 1.0])
    )


def test_color_jitter_changes_images_only_with_shared_factors():
    s = replace(full_sample(), neighbours=torch.stack([coded_sample().image] * 2))
    jitter = ColorJitter(
        brightness=(0.5, 2.0),
        contrast=(0.5, 1.5),
        saturation=(0.0, 2.0),
        gamma=(0.8, 1.2),
        color_scale=(0.8, 1.2),
    )
    out = jitter(s, torch.Generator().manual_seed(0))
    assert not torch.equal(out.image, s.image)
    for name in ("depth", "mask", "K", "normals", "labels", "pairs", "relations", "pose"):
        assert getattr(out, name) is getattr(s, name), name
    # the same factors on every view: neighbours equal to the image stay equal to it
    assert torch.equal(out.neighbours[0], out.image) and torch.equal(out.neighbours[1], out.image)
    assert out.image.min() >= 0 and out.image.max() <= 1
    assert ColorJitter(brightness=(0.5, 2.0), p=0.0)(s, torch.Generator()) is s


def test_rotation_of_the_frame_matches_math_convention():
    # roll_matrix(θ) turns a point on the +x axis towards −y (up on screen): counter-clockwise
    R = roll_matrix(30.0)
    x = R @ torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        x, torch.tensor([math.cos(math.pi / 6), -0.5, 1.0], dtype=torch.float64)
    )
