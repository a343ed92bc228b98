"""Resizing a prediction in the model's own space, and monodepth2's evaluation order end to end."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import OutputSpaceError
from depthforge.eval import Evaluator, evaluate_predictions, save_prediction
from depthforge.models import create_model, predict
from depthforge.models.monodepth2 import Monodepth2, Monodepth2Output
from depthforge.transforms.resize_space import resize_prediction
from depthforge.types import OutputSpace, ResizeSpace, sample_from_numpy

GT_SIZE = (375, 1242)  # a KITTI raw frame
NET_SIZE = (192, 640)  # monodepth2's input


def test_disparity_and_log_resizes_match_hand_computed_values():
    # 1×2 → 1×4 with half-pixel centres samples the source at x = 0, 0.25, 0.75, 1.
    depth = torch.tensor([[[[1.0, 4.0]]]])
    disparity = resize_prediction(depth, (1, 4), "scale_invariant_depth", "disparity")
    expected = 1.0 / torch.tensor([1.0, 0.8125, 0.4375, 0.25])
    torch.testing.assert_close(disparity.flatten(), expected)
    as_log = resize_prediction(
        torch.tensor([[[[1.0, math.e**2]]]]), (1, 4), "metric_depth", "log_depth"
    )
    torch.testing.assert_close(as_log.flatten(), torch.tensor([0.0, 0.5, 1.5, 2.0]).exp())
    as_depth = resize_prediction(depth, (1, 4), "metric_depth", "depth")
    torch.testing.assert_close(as_depth.flatten(), torch.tensor([1.0, 1.75, 3.25, 4.0]))


def test_log_depth_outputs_stay_log_depth_in_every_resize_space():
    log_depth = torch.tensor([[[[0.0, math.log(4.0)]]]])  # depth 1 and 4
    for how, expected in [
        ("log_depth", math.log(2.0) * np.array([0.0, 0.5, 1.5, 2.0])),
        ("depth", np.log([1.0, 1.75, 3.25, 4.0])),
        ("disparity", -np.log([1.0, 0.8125, 0.4375, 0.25])),
    ]:
        out = resize_prediction(log_depth, (1, 4), "log_depth", how)
        torch.testing.assert_close(out.flatten(), torch.tensor(expected, dtype=torch.float32))


def test_a_scale_passes_through_every_resize_space():
    depth = torch.rand(2, 1, 6, 9) + 0.5
    for how in ResizeSpace:
        scaled = resize_prediction(3.0 * depth, (13, 20), "scale_invariant_depth", how)
        torch.testing.assert_close(
            scaled, 3.0 * resize_prediction(depth, (13, 20), "metric_depth", how)
        )


@pytest.mark.parametrize(
    ("space", "how"),
    [
        ("affine_invariant_depth", "disparity"),
        ("affine_invariant_depth", "log_depth"),
        ("affine_invariant_disparity", "depth"),
        ("ordinal", "disparity"),
    ],
)
def test_meaningless_resize_spaces_are_refused(space, how):
    with pytest.raises(OutputSpaceError, match=f"cannot be resized in '{how}' space"):
        resize_prediction(torch.ones(1, 1, 2, 2), (4, 4), space, how)


def test_non_positive_depth_cannot_be_resized_as_disparity():
    depth = torch.tensor([[[[1.0, 0.0]]]])
    with pytest.raises(ValueError, match="values ≤ 0"):
        resize_prediction(depth, (2, 4), "metric_depth", "disparity")
    with pytest.raises(ValueError, match="unknown resize space 'inverse'"):
        resize_prediction(depth, (2, 4), "metric_depth", "inverse")


def test_models_declare_their_resize_space():
    assert Monodepth2.resize_space is ResizeSpace.DISPARITY
    assert create_model("eigen2015_alexnet").resize_space is ResizeSpace.LOG_DEPTH
    assert create_model("fcrn_resnet18").resize_space is ResizeSpace.DEPTH


# --- monodepth2's evaluate_depth.py, written out independently with numpy + cv2 -----------------


def monodepth2_eval_loop(pred_disps: np.ndarray, gt_depths: np.ndarray, resize_disparity=True):
    """evaluate_depth.py, eigen split, mono: resize disparity → invert → mask/crop → median →
    clamp → errors; returns the mean errors and the median-scaling ratios."""
    min_depth, max_depth = 1e-3, 80
    errors, ratios = [], []
    for pred_disp, gt in zip(pred_disps, gt_depths, strict=True):
        h, w = gt.shape
        if resize_disparity:
            pred_depth = 1 / cv2.resize(pred_disp, (w, h))
        else:  # the order this test must tell apart: resize the depth
            pred_depth = cv2.resize(1 / pred_disp, (w, h))
        mask = np.logical_and(gt > min_depth, gt < max_depth)
        crop = np.array([0.40810811 * h, 0.99189189 * h, 0.03594771 * w, 0.96405229 * w]).astype(
            np.int32
        )
        crop_mask = np.zeros(mask.shape)
        crop_mask[crop[0] : crop[1], crop[2] : crop[3]] = 1
        mask = np.logical_and(mask, crop_mask)
        # float64 from here on (monodepth2 keeps float32; depthforge aligns and scores in float64)
        p, g = pred_depth[mask].astype(np.float64), gt[mask].astype(np.float64)
        ratio = np.median(g) / np.median(p)
        ratios.append(ratio)
        p = np.clip(p * ratio, min_depth, max_depth)
        thresh = np.maximum(g / p, p / g)
        errors.append(
            [
                np.mean(np.abs(g - p) / g),
                np.mean((g - p) ** 2 / g),
                np.sqrt(np.mean((g - p) ** 2)),
                np.sqrt(np.mean((np.log(g) - np.log(p)) ** 2)),
                (thresh < 1.25).mean(),
                (thresh < 1.25**2).mean(),
                (thresh < 1.25**3).mean(),
            ]
        )
    return np.array(errors).mean(0), np.array(ratios)


METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "d1", "d2", "d3")


def kitti_like(batch: int, seed: int):
    """Random sigmoid disparities at the network size (4×4 blocks) and sparse velodyne-like GT (≈6 % of the
    pixels, 0.5–90 m so that the 80 m cap matters)."""
    rng = np.random.default_rng(seed)
    # piecewise constant 4×4 blocks: depth edges everywhere, as between objects in a street scene
    blocks = rng.uniform(0.002, 0.3, (batch, 1, NET_SIZE[0] // 4, NET_SIZE[1] // 4))
    sigmoid = blocks.repeat(4, axis=2).repeat(4, axis=3).astype(np.float32)
    gt = rng.uniform(0.5, 90.0, (batch, *GT_SIZE)).astype(np.float32)
    gt[rng.random(gt.shape) > 0.06] = 0.0
    return torch.from_numpy(sigmoid), gt


@pytest.fixture(scope="module")
def scored():
    """A monodepth2 network whose outputs are replaced by random sigmoid disparities, run by
    ``predict`` on KITTI-size frames."""
    torch.manual_seed(0)
    model = create_model("monodepth2_resnet18")
    sigmoid, gt = kitti_like(2, seed=1)

    def random_outputs(module, inputs, output):
        return Monodepth2Output(module.to_depth(sigmoid)[1], [sigmoid])

    model.register_forward_hook(random_outputs)
    prediction = predict(model, torch.rand(2, 3, *GT_SIZE), batch_size=2)
    # monodepth2: pred_disp, _ = disp_to_depth(output[("disp", 0)], 0.1, 100)
    pred_disps = (1 / 100 + (1 / 0.1 - 1 / 100) * sigmoid[:, 0]).numpy()
    return prediction, gt, pred_disps


def test_monodepth2_scored_by_depthforge_equals_its_own_evaluation_loop(scored):
    prediction, gt, pred_disps = scored
    assert prediction.output_space is OutputSpace.SCALE_INVARIANT_DEPTH
    evaluator = Evaluator("kitti_eigen", align="median", output_space=prediction.output_space)
    evaluator.add(prediction.depth, torch.from_numpy(gt)[:, None])
    result = evaluator.result()
    expected, ratios = monodepth2_eval_loop(pred_disps, gt)
    got = np.array([result.metrics[k] for k in METRICS])
    # cv2.resize computes its sample positions in float32 (≈3e-5 px near x = 1000), torch in a
    # different order: per-pixel differences of ~1e-6 relative at depth edges, hence rtol 1e-5.
    np.testing.assert_allclose(got[:4], expected[:4], rtol=1e-5)
    np.testing.assert_allclose(got[4:], expected[4:], atol=1e-4)  # fractions of ~10⁴ pixels
    assert result.extras["scale_median"] == pytest.approx(np.median(ratios), rel=1e-5)
    # The check can fail: resizing the depth instead changes the numbers by far more.
    depth_first, _ = monodepth2_eval_loop(pred_disps, gt, resize_disparity=False)
    assert abs(depth_first[2] - expected[2]) > 100 * abs(got[2] - expected[2]) + 1e-3


class InMemory(DepthDataset):
    name = "in_memory"

    def __init__(self, gt: np.ndarray):
        self.gt = gt
        self.ids = [f"frame {i}" for i in range(len(gt))]

    def load(self, index: int):
        image = np.zeros((*self.gt.shape[1:], 3), np.uint8)
        return sample_from_numpy(image, self.gt[index], meta={"id": self.ids[index]})


def test_eval_resize_in_disparity_space_reproduces_monodepth2_from_saved_low_res_maps(
    scored, tmp_path
):
    _, gt, pred_disps = scored
    for i, disp in enumerate(pred_disps):
        save_prediction(tmp_path, f"frame {i}", 1 / disp)  # scale-invariant depth at 192×640
    expected, _ = monodepth2_eval_loop(pred_disps, gt)
    result = evaluate_predictions(
        tmp_path,
        InMemory(gt),
        "kitti_eigen",
        "median",
        "scale_invariant_depth",
        resize=True,
        resize_space="disparity",
    )
    got = np.array([result.metrics[k] for k in METRICS])
    np.testing.assert_allclose(got[:4], expected[:4], rtol=1e-5)
    np.testing.assert_allclose(got[4:], expected[4:], atol=1e-4)
    assert result.settings["resize_space"] == "disparity"
    as_stored = evaluate_predictions(
        tmp_path, InMemory(gt), "kitti_eigen", "median", "scale_invariant_depth", resize=True
    )
    assert as_stored.settings["resize_space"] == "depth"
    assert abs(as_stored.metrics["rmse"] - expected[2]) > 1e-3
