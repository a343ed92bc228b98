"""Photometric losses (monodepth2, SfMLearner) and edge-aware smoothness."""

from __future__ import annotations

import math

import pytest
import torch

from depthforge.losses import (
    EdgeAwareSmoothness,
    MinReprojectionLoss,
    edge_aware_smoothness,
    explainability_regularizer,
    min_reprojection_loss,
    photometric_error,
    ssim_dissimilarity,
)


def _images(seed: int, shape=(1, 2, 4, 5)):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=generator, dtype=torch.float64)
    y = torch.rand(shape, generator=generator, dtype=torch.float64)
    return x, y


def _loop_ssim(x, y, reflect: bool):
    """Per-pixel SSIM dissimilarity over explicit 3×3 windows (reflection = mirror, no repeat)."""
    _, c, h, w = x.shape

    def at(img, ch, r, col):
        if reflect:
            r = -r if r < 0 else (2 * (h - 1) - r if r >= h else r)
            col = -col if col < 0 else (2 * (w - 1) - col if col >= w else col)
        return img[0, ch, r, col].item()

    rows = range(h) if reflect else range(1, h - 1)
    cols = range(w) if reflect else range(1, w - 1)
    out = torch.zeros(1, c, len(rows), len(cols), dtype=torch.float64)
    for ch in range(c):
        for i, r in enumerate(rows):
            for j, col in enumerate(cols):
                xs = [at(x, ch, r + a, col + b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
                ys = [at(y, ch, r + a, col + b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
                mx, my = sum(xs) / 9, sum(ys) / 9
                vx = sum(v * v for v in xs) / 9 - mx * mx
                vy = sum(v * v for v in ys) / 9 - my * my
                cxy = sum(a * b for a, b in zip(xs, ys, strict=True)) / 9 - mx * my
                ssim = ((2 * mx * my + 1e-4) * (2 * cxy + 9e-4)) / (
                    (mx * mx + my * my + 1e-4) * (vx + vy + 9e-4)
                )
                out[0, ch, i, j] = min(max((1 - ssim) / 2, 0.0), 1.0)
    return out


@pytest.mark.parametrize("padding", ["reflect", "valid"])
def test_ssim_matches_a_per_pixel_loop(padding):
    x, y = _images(0)
    got = ssim_dissimilarity(x, y, padding=padding)
    assert torch.allclose(got, _loop_ssim(x, y, reflect=padding == "reflect"), atol=1e-12)


def test_ssim_of_an_image_with_itself_is_zero():
    x, _ = _images(1)
    assert ssim_dissimilarity(x, x).abs().max().item() < 1e-12


def test_photometric_error_mixes_ssim_and_l1_after_the_channel_mean():
    x, y = _images(2)
    l1 = (x - y).abs().mean(1, keepdim=True)
    ssim = _loop_ssim(y, x, reflect=True).mean(1, keepdim=True)
    assert torch.allclose(photometric_error(y, x), 0.85 * ssim + 0.15 * l1, atol=1e-12)
    assert torch.allclose(photometric_error(y, x, use_ssim=False), l1)


def test_min_reprojection_selects_per_pixel_and_automasks():
    # two sources, 1×2 image. pixel 0: reprojection of source 1 wins (0.1);
    # pixel 1: identity of source 0 wins (0.2 < 0.5, 0.6) → auto-masked.
    reprojection = torch.tensor([[[[0.4, 0.5]], [[0.1, 0.6]]]], dtype=torch.float64)
    identity = torch.tensor([[[[0.3, 0.2]], [[0.9, 0.9]]]], dtype=torch.float64)
    loss, per_pixel, automask = min_reprojection_loss(
        reprojection, identity, generator=torch.Generator().manual_seed(0)
    )
    assert per_pixel.flatten().tolist() == pytest.approx([0.1, 0.2], abs=1e-4)
    assert automask.flatten().tolist() == [True, False]
    assert loss.item() == pytest.approx(0.15, abs=1e-4)
    _, per_pixel_plain, _ = min_reprojection_loss(reprojection)
    assert per_pixel_plain.flatten().tolist() == pytest.approx([0.1, 0.5])
    averaged, _, mask_avg = min_reprojection_loss(reprojection, identity, reduce="mean")
    # mean over sources: reprojection (0.25, 0.55), identity (0.6, 0.55 + noise)
    assert averaged.item() == pytest.approx((0.25 + 0.55) / 2, abs=1e-4)
    assert mask_avg[0, 0, 0, 0]


def test_tie_breaking_noise_is_reproducible_and_tiny():
    reprojection = torch.full((1, 2, 3, 3), 0.5, dtype=torch.float64)
    identity = torch.full((1, 2, 3, 3), 0.5, dtype=torch.float64)
    first = min_reprojection_loss(
        reprojection, identity, generator=torch.Generator().manual_seed(7)
    )
    second = min_reprojection_loss(
        reprojection, identity, generator=torch.Generator().manual_seed(7)
    )
    assert torch.equal(first[1], second[1]) and torch.equal(first[2], second[2])
    assert (first[1] - 0.5).abs().max().item() < 1e-4
    module = MinReprojectionLoss(seed=7)
    assert module(reprojection, identity).item() == pytest.approx(first[0].item())


def test_explainability_regularizer_is_cross_entropy_towards_one():
    assert explainability_regularizer(torch.zeros(1, 2, 2, 2)).item() == pytest.approx(math.log(2))
    assert explainability_regularizer(torch.full((1, 1, 2, 2), 50.0)).item() < 1e-20
    large = torch.full((1, 1, 1, 1), -1e4)
    assert explainability_regularizer(large).item() == pytest.approx(1e4)


def _loop_smoothness(disp, image):
    _, _, h, w = disp.shape
    d = disp[0, 0] / (disp[0, 0].mean() + 1e-7)
    gx = [
        abs(d[y, x] - d[y, x + 1]).item()
        * math.exp(
            -sum(abs(image[0, c, y, x] - image[0, c, y, x + 1]).item() for c in range(3)) / 3
        )
        for y in range(h)
        for x in range(w - 1)
    ]
    gy = [
        abs(d[y, x] - d[y + 1, x]).item()
        * math.exp(
            -sum(abs(image[0, c, y, x] - image[0, c, y + 1, x]).item() for c in range(3)) / 3
        )
        for y in range(h - 1)
        for x in range(w)
    ]
    return sum(gx) / len(gx) + sum(gy) / len(gy)


def test_smoothness_matches_a_loop_and_ignores_disparity_scale():
    generator = torch.Generator().manual_seed(3)
    disp = torch.rand(1, 1, 3, 5, generator=generator, dtype=torch.float64) + 0.1
    image = torch.rand(1, 3, 3, 5, generator=generator, dtype=torch.float64)
    got = edge_aware_smoothness(disp, image)
    assert got.item() == pytest.approx(_loop_smoothness(disp, image), rel=1e-12)
    assert edge_aware_smoothness(4 * disp, image).item() == pytest.approx(got.item(), rel=1e-6)
    assert EdgeAwareSmoothness()(disp, image) == got


def test_gradcheck_float64():
    x, y = _images(4, shape=(1, 3, 4, 4))
    y.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: photometric_error(p, x).mean(), (y,))
    disp = (torch.rand(1, 1, 4, 4, dtype=torch.float64) + 0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda d: edge_aware_smoothness(d, x), (disp,))
    logits = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(explainability_regularizer, (logits,))


def test_bad_inputs_are_named():
    x, y = _images(5)
    with pytest.raises(ValueError, match="shapes must match"):
        photometric_error(x, y[..., :3])
    with pytest.raises(ValueError, match="padding"):
        ssim_dissimilarity(x, y, padding="zeros")
    with pytest.raises(ValueError, match="must share B, H, W"):
        min_reprojection_loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 4))


def test_box_mean_is_the_mean_of_each_3x3_window():
    from depthforge.losses.photometric import box_mean_3x3

    x = torch.rand(2, 3, 5, 6, dtype=torch.float64)
    want = torch.empty(2, 3, 3, 4, dtype=torch.float64)
    for i in range(3):
        for j in range(4):
            want[:, :, i, j] = x[:, :, i : i + 3, j : j + 3].sum((-2, -1)) / 9
    torch.testing.assert_close(box_mean_3x3(x), want)


def test_box_mean_gradients_and_any_leading_axes():
    from depthforge.losses.photometric import box_mean_3x3

    x = torch.rand(2, 2, 3, 5, 6, dtype=torch.float64, requires_grad=True)
    want = torch.nn.functional.avg_pool2d(x.flatten(0, 1), 3, 1).unflatten(0, (2, 2))
    torch.testing.assert_close(box_mean_3x3(x), want, rtol=0, atol=1e-15)
    assert torch.autograd.gradcheck(box_mean_3x3, (x,))
    assert torch.autograd.gradgradcheck(box_mean_3x3, (x,))
    with pytest.raises(ValueError, match="H ≥ 3"):
        box_mean_3x3(torch.zeros(1, 1, 2, 5))


def test_sources_against_a_prepared_target_equal_a_straightforward_loop():
    # Against monodepth2's structure (pad, five average pools, one call per source): the values
    # and the gradients of images and target, in float64.
    from depthforge.losses.photometric import photometric_errors, ssim_target
    from tests.monodepth2_loss_reference import reprojection_error

    generator = torch.Generator().manual_seed(6)
    images = torch.rand(2, 3, 3, 7, 9, generator=generator, dtype=torch.float64)
    target = torch.rand(2, 3, 7, 9, generator=generator, dtype=torch.float64)
    weights = torch.rand(2, 3, 7, 9, generator=generator, dtype=torch.float64)
    images.requires_grad_(True)
    target.requires_grad_(True)
    ours = photometric_errors(images, ssim_target(target))
    want = torch.cat([reprojection_error(images[:, k], target) for k in range(3)], dim=1)
    torch.testing.assert_close(ours, want, rtol=0, atol=1e-13)
    grads = torch.autograd.grad((ours * weights).sum(), (images, target))
    grads_want = torch.autograd.grad((want * weights).sum(), (images, target))
    for got, expected in zip(grads, grads_want, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    small_images, small_target = images[:1, :2, :, :4, :5], target[:1, :, :4, :5]
    assert torch.autograd.gradcheck(
        lambda i, t: photometric_errors(i, ssim_target(t)), (small_images, small_target)
    )


@pytest.mark.parametrize("padding", ["reflect", "valid"])
def test_ssim_gradient_reaches_both_images(padding):
    x, y = _images(8, shape=(1, 2, 4, 5))
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: ssim_dissimilarity(a, b, padding), (x, y))


def test_prepared_target_shapes_are_checked():
    from depthforge.losses.photometric import photometric_errors, ssim_target

    prepared = ssim_target(torch.rand(2, 3, 6, 6))
    with pytest.raises(ValueError, match=r"\(B, S, C, H, W\) with B = 2"):
        photometric_errors(torch.rand(2, 3, 6, 6), prepared)
    with pytest.raises(ValueError, match="must share C, H, W"):
        photometric_errors(torch.rand(2, 1, 3, 6, 7), prepared)
