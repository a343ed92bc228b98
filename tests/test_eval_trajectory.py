"""Specification of trajectory evaluation: readers, composition, snippet ATE, Umeyama, ATE, RPE."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from depthforge import cli
from depthforge.errors import DataError
from depthforge.eval.trajectory import (
    absolute_trajectory_error,
    compose_relative,
    evaluate_trajectory,
    read_kitti_poses,
    read_trajectory,
    read_tum_trajectory,
    relative_from_pose_vectors,
    relative_pose_error,
    relative_poses,
    snippet_ate,
    snippet_positions,
    umeyama,
)


def rigid(rotvec, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    T[:3, 3] = t
    return T


def translations(steps) -> np.ndarray:
    """``(N, 4, 4)`` relative poses with identity rotations and the given translations."""
    T = np.tile(np.eye(4), (len(steps), 1, 1))
    T[:, :3, 3] = steps
    return T


def random_trajectory(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rel = np.stack([rigid(0.1 * rng.normal(size=3), rng.normal(size=3)) for _ in range(n - 1)])
    return compose_relative(rel)


# ------------------------------------------------------------------------------------- readers


def test_kitti_00_and_tum_ground_truths_parse_with_published_counts(shared_data):
    folder = shared_data / "trajectories_gt"
    kitti = read_trajectory(folder / "KITTI_00_gt.txt")
    assert len(kitti) == 4541 and kitti.timestamps is None
    np.testing.assert_allclose(kitti.poses[0], np.eye(4), atol=1e-9)
    path = np.linalg.norm(np.diff(kitti.positions, axis=0), axis=1).sum()
    assert path == pytest.approx(3724.2, abs=0.1)  # SOURCE.md
    fr1 = read_tum_trajectory(folder / "freiburg1_xyz-groundtruth.txt")
    assert len(fr1) == 3000
    assert fr1.timestamps[-1] - fr1.timestamps[0] == pytest.approx(30.09, abs=0.01)
    assert len(read_trajectory(folder / "fr2_desk_groundtruth.txt")) == 20957
    R = fr1.poses[:, :3, :3]
    np.testing.assert_allclose(
        R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-9
    )


def test_tum_line_becomes_the_pose_by_hand(tmp_path):
    path = tmp_path / "traj.txt"
    half = math.sqrt(0.5)  # 90° about z: (x, y, z, w) = (0, 0, sin 45°, cos 45°)
    path.write_text(f"# comment\n1.5 1 2 3 0 0 {half} {half}\n")
    traj = read_tum_trajectory(path)
    expected = np.array([[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1.0]])
    np.testing.assert_allclose(traj.poses[0], expected, atol=1e-12)
    assert traj.timestamps.tolist() == [1.5]


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text(" ".join(["0"] * 12) + "\n1 2 3\n")
    with pytest.raises(DataError, match=r"short\.txt: line 2: expected 12 numbers"):
        read_kitti_poses(short)
    words = tmp_path / "words.txt"
    words.write_text(" ".join(["x"] * 12) + "\n")
    with pytest.raises(DataError, match="must be numbers"):
        read_kitti_poses(words)
    odd = tmp_path / "odd.txt"
    odd.write_text("1 2 3 4 5\n")
    with pytest.raises(DataError, match="cannot tell the format"):
        read_trajectory(odd)
    with pytest.raises(DataError, match="file not found"):
        read_trajectory(tmp_path / "missing.txt", "kitti")


# --------------------------------------------------------------------------------- composition


def test_relative_poses_and_composition_round_trip():
    poses = random_trajectory(37, seed=0)
    poses = np.linalg.inv(poses[:1]) @ poses  # first pose = identity, as composition makes it
    np.testing.assert_allclose(compose_relative(relative_poses(poses)), poses, atol=1e-10)


def test_relative_pose_maps_points_of_the_previous_camera_into_the_next():
    poses = random_trajectory(3, seed=1)
    point_in_cam0 = np.array([0.3, -0.2, 4.0, 1.0])
    world = poses[0] @ point_in_cam0
    np.testing.assert_allclose(
        relative_poses(poses)[0] @ point_in_cam0, np.linalg.inv(poses[1]) @ world
    )


def test_pose_vectors_use_the_posenet_convention():
    vec = torch.tensor([[0.0, 0.0, math.pi / 2, 1.0, 2.0, 3.0]], dtype=torch.float64)
    expected = np.array([[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1.0]])
    np.testing.assert_allclose(relative_from_pose_vectors(vec)[0], expected, atol=1e-12)


# ---------------------------------------------------------------------------- snippet protocol


def test_snippet_positions_follow_monodepth2_product_order_by_hand():
    quarter_z = rigid([0, 0, math.pi / 2], [1, 0, 0])
    xyz, valid = snippet_positions(np.stack([quarter_z, translations([[1, 0, 0]])[0]]))
    # dump_xyz: M = I·T0 → (1, 0, 0); M = T0·T1 → R0 (1, 0, 0) + t0 = (0, 1, 0) + (1, 0, 0)
    np.testing.assert_allclose(xyz[0, :3], [[0, 0, 0], [1, 0, 0], [1, 1, 0]], atol=1e-12)
    assert valid.tolist() == [[True] * 3 + [False] * 2, [True] * 2 + [False] * 3]


def test_snippet_ate_on_a_hand_made_trajectory():
    gt = translations([[1, 0, 0], [1, 0, 0]])
    pred = translations([[1, 0, 0], [0, 1, 0]])
    # snippet 0: gt (0,0,0),(1,0,0),(2,0,0); pred (0,0,0),(1,0,0),(1,1,0): scale 3/3 = 1,
    #   error (−1, 1, 0) at the end → √2 / 3 frames
    # snippet 1: gt (0,0,0),(1,0,0); pred (0,0,0),(0,1,0): scale 0 → error 1 → √1 / 2 frames
    np.testing.assert_allclose(snippet_ate(gt, pred), [math.sqrt(2) / 3, 0.5])


def test_snippet_ate_brute_force_matches_the_reference_loop():
    gt = relative_poses(random_trajectory(9, seed=2))
    pred = relative_poses(random_trajectory(9, seed=3))

    def dump_xyz(rels):  # the reference loop, written out one snippet at a time
        M, xyz = np.eye(4), [np.zeros(3)]
        for T in rels:
            M = M @ T
            xyz.append(M[:3, 3])
        return np.array(xyz)

    expected = []
    for i in range(len(gt)):
        g, p = dump_xyz(gt[i : i + 4]), dump_xyz(pred[i : i + 4])
        s = np.sum(g * p) / np.sum(p**2)
        expected.append(np.sqrt(np.sum((s * p - g) ** 2)) / len(g))
    np.testing.assert_allclose(snippet_ate(gt, pred), expected, rtol=1e-12)


def test_snippet_ate_is_zero_for_the_truth_and_blind_to_a_global_scale():
    gt = relative_poses(random_trajectory(12, seed=4))
    assert np.abs(snippet_ate(gt, gt)).max() < 1e-12
    pred = relative_poses(random_trajectory(12, seed=5))
    scaled = pred.copy()
    scaled[:, :3, 3] *= 7.5
    np.testing.assert_allclose(snippet_ate(gt, scaled), snippet_ate(gt, pred), rtol=1e-10)


# ------------------------------------------------------------------------------ Umeyama and ATE


def test_umeyama_recovers_a_known_similarity_exactly():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(20, 3))
    R = Rotation.from_rotvec([0.3, -1.2, 2.0]).as_matrix()
    y = 2.5 * x @ R.T + [1.0, -2.0, 0.5]
    fit = umeyama(x, y)
    np.testing.assert_allclose(fit.rotation, R, atol=1e-12)
    np.testing.assert_allclose(fit.translation, [1.0, -2.0, 0.5], atol=1e-12)
    assert fit.scale == pytest.approx(2.5, rel=1e-12)
    rigid_fit = umeyama(x, x @ R.T + 1.0, with_scale=False)
    np.testing.assert_allclose(rigid_fit.rotation, R, atol=1e-12)
    assert rigid_fit.scale == 1.0


def test_umeyama_returns_a_rotation_not_a_reflection():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(10, 3))
    fit = umeyama(x, x * [1, 1, -1])  # the best orthogonal fit would be the mirror
    assert np.linalg.det(fit.rotation) == pytest.approx(1.0)


def test_straight_trajectories_align_and_a_static_one_is_refused():
    line = np.outer(np.arange(6.0), [0.1, -0.2, 1.0])
    target = 2.0 * line @ Rotation.from_rotvec([0.2, 0.1, 0.3]).as_matrix().T + 1.0
    errors, fit = absolute_trajectory_error(target, line, "sim3")  # rotation about the line free
    np.testing.assert_allclose(errors, 0.0, atol=1e-12)
    assert fit.scale == pytest.approx(2.0)
    with pytest.raises(DataError, match="all predicted positions are equal"):
        umeyama(np.zeros((4, 3)), line[:4])


def test_sim3_ate_is_invariant_to_a_similarity_of_the_prediction():
    gt = random_trajectory(30, seed=8)[:, :3, 3]
    pred = gt + 0.05 * np.random.default_rng(9).normal(size=gt.shape)
    before, first_fit = absolute_trajectory_error(gt, pred, "sim3")
    R = Rotation.from_rotvec([1.0, 0.4, -0.7]).as_matrix()
    after, fit = absolute_trajectory_error(gt, 0.3 * pred @ R.T + [5.0, 1.0, -3.0], "sim3")
    np.testing.assert_allclose(after, before, atol=1e-10)
    assert fit.scale == pytest.approx(first_fit.scale / 0.3, rel=1e-9)


def test_noisy_trajectory_gives_the_hand_computed_rmse():
    rng = np.random.default_rng(10)
    gt = random_trajectory(40, seed=11)[:, :3, 3]
    noise = rng.normal(size=gt.shape)
    # Zero mean and uncorrelated with the centred GT: the best rigid fit is the identity, so the
    # aligned error is the noise itself.
    centred = gt - gt.mean(0)
    noise -= noise.mean(0)
    noise -= centred @ np.linalg.solve(centred.T @ centred, centred.T @ noise)
    noise *= 0.1
    expected = math.sqrt(np.mean(np.sum(noise**2, axis=1)))
    errors, fit = absolute_trajectory_error(gt, gt + noise, "se3")
    assert math.sqrt(np.mean(errors**2)) == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(fit.rotation, np.eye(3), atol=1e-12)
    errors, _ = absolute_trajectory_error(gt, gt + [3.0, 4.0, 0.0], "none")
    np.testing.assert_allclose(errors, 5.0)


def test_rpe_of_a_constant_step_drift_by_hand():
    gt = compose_relative(translations([[0, 0, -1.0]] * 5))  # camera moves +1 m along z
    pred = compose_relative(translations([[0, 0, -1.1]] * 5))
    trans, rot = relative_pose_error(gt, pred, delta=1)
    assert trans.shape == (4,)  # 6 poses: pairs (0,1) … (3,4); (4,5) ends at the last index
    np.testing.assert_allclose(trans, 0.1, atol=1e-12)
    np.testing.assert_allclose(rot, 0.0, atol=1e-6)
    trans, _ = relative_pose_error(gt, pred, delta=2)
    np.testing.assert_allclose(trans, [0.2] * 3, atol=1e-12)
    with pytest.raises(DataError, match="needs at least 2"):
        relative_pose_error(gt, pred, delta=4)


def tum_fixed_delta_rpe(gt: np.ndarray, est: np.ndarray, delta: int):
    """evaluate_rpe.py --fixed_delta --delta_unit f --max_pairs 0, written out pair by pair."""
    index = list(range(len(est)))
    trans, rot = [], []
    for i in index:
        j = min(index, key=lambda k: abs(k - (i + delta)))  # the closest index to i + Δ
        if j == len(est) - 1:
            continue
        rel_est = np.linalg.inv(est[j]) @ est[i]
        rel_gt = np.linalg.inv(gt[j]) @ gt[i]
        error = np.linalg.inv(rel_est) @ rel_gt
        trans.append(np.linalg.norm(error[:3, 3]))
        rot.append(math.degrees(math.acos(min(1, max(-1, (np.trace(error[:3, :3]) - 1) / 2)))))
    return np.array(trans), np.array(rot)


@pytest.mark.parametrize("delta", [1, 3, 7])
def test_rpe_equals_tums_fixed_delta_pairs_brute_force(delta):
    gt, pred = random_trajectory(12, seed=20), random_trajectory(12, seed=21)
    trans, rot = relative_pose_error(gt, pred, delta)
    expected_trans, expected_rot = tum_fixed_delta_rpe(gt, pred, delta)
    assert len(trans) == 12 - delta - 1
    np.testing.assert_allclose(trans, expected_trans, rtol=1e-10)
    np.testing.assert_allclose(rot, expected_rot, rtol=1e-8, atol=1e-8)


# ------------------------------------------------------------------------------- API and CLI


def test_ground_truth_scores_zero_under_both_protocols(shared_data):
    path = shared_data / "trajectories_gt" / "KITTI_00_gt.txt"
    snippets = evaluate_trajectory(path, path)
    assert snippets.metrics == {"ate_mean": 0.0, "ate_std": 0.0} and snippets.n_poses == 4541
    full = evaluate_trajectory(path, path, protocol="full", alignment="sim3")
    assert full.metrics["ate_rmse"] < 1e-9 and full.metrics["rpe_trans_rmse"] < 1e-9
    assert full.metrics["alignment_scale"] == pytest.approx(1.0)


def test_tum_predictions_are_matched_by_timestamp(tmp_path):
    poses = random_trajectory(6, seed=12)
    times = 100.0 + 0.1 * np.arange(6)
    quats = Rotation.from_matrix(poses[:, :3, :3]).as_quat()  # x, y, z, w
    lines = [
        f"{t:.4f} {' '.join(map(str, p[:3, 3]))} {' '.join(map(str, q))}"
        for t, p, q in zip(times, poses, quats, strict=True)
    ]
    (tmp_path / "gt.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "pred.txt").write_text("\n".join(reversed(lines[1:])) + "\n")  # order, one missing
    result = evaluate_trajectory(tmp_path / "gt.txt", tmp_path / "pred.txt", protocol="full")
    assert result.n_poses == 5 and result.metrics["ate_rmse"] < 1e-6


def test_kitti_length_mismatch_is_refused(tmp_path):
    rows = [" ".join(map(str, p[:3].ravel())) for p in random_trajectory(5, seed=13)]
    (tmp_path / "gt.txt").write_text("\n".join(rows) + "\n")
    (tmp_path / "pred.txt").write_text("\n".join(rows[:4]) + "\n")
    with pytest.raises(DataError, match=r"pred\.txt: 4 poses but the ground truth has 5"):
        evaluate_trajectory(tmp_path / "gt.txt", tmp_path / "pred.txt")


def test_monodepth2_relative_npy_scores_like_the_trajectory(tmp_path):
    gt = random_trajectory(8, seed=14)
    pred = random_trajectory(8, seed=15)
    rows = lambda P: "\n".join(" ".join(map(str, p[:3].ravel())) for p in P) + "\n"  # noqa: E731
    (tmp_path / "gt.txt").write_text(rows(gt))
    (tmp_path / "pred.txt").write_text(rows(pred))
    np.save(tmp_path / "poses.npy", relative_poses(pred))
    a = evaluate_trajectory(tmp_path / "gt.txt", tmp_path / "pred.txt")
    b = evaluate_trajectory(tmp_path / "gt.txt", tmp_path / "poses.npy")
    assert a.metrics == pytest.approx(b.metrics, rel=1e-9)


def run_eval_pose(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``depthforge eval-pose ARGS`` in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["depthforge", "eval-pose", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, *capsys.readouterr()


def test_cli_eval_pose_prints_a_table_and_exits_2_on_bad_input(monkeypatch, capsys, tmp_path):
    rows = [" ".join(map(str, p[:3].ravel())) for p in random_trajectory(7, seed=16)]
    gt = tmp_path / "gt.txt"
    gt.write_text("\n".join(rows) + "\n")

    code, out, _ = run_eval_pose(
        monkeypatch, capsys, "--gt", str(gt), "--pred", str(gt), "--protocol", "full"
    )
    assert code == 0 and "ate_rmse" in out and "protocol: full" in out
    code, out, _ = run_eval_pose(
        monkeypatch, capsys, "--gt", str(gt), "--pred", str(gt), "--format", "kitti"
    )
    assert code == 0 and "ate_mean" in out
    code, _, err = run_eval_pose(
        monkeypatch, capsys, "--gt", str(gt), "--pred", str(tmp_path / "nope.txt")
    )
    assert code == 2 and "nope.txt: file not found" in err


@pytest.fixture(scope="module")
def constant_motion_posenet():
    """A PoseNet whose output is the same ``T_{i←i−1}``, translation (0, 0, 1), for every pair."""
    from depthforge.models.posenet import PoseNet, PoseNetConfig

    net = PoseNet(PoseNetConfig(input_size=(32, 64), num_frames=2))
    last = net.decoder[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 100.0]))  # × 0.01 inside
    return net


def write_frames(folder, count: int):
    from depthforge.io.image import save_rgb

    rng = np.random.default_rng(17)
    folder.mkdir()
    for i in range(count):
        save_rgb(folder / f"{i:06d}.png", rng.integers(0, 255, (24, 40, 3), dtype=np.uint8))
    return sorted(folder.iterdir())


def test_posenet_trajectory_by_hand(tmp_path, constant_motion_posenet):
    from depthforge.eval.trajectory import predict_trajectory

    frames = write_frames(tmp_path / "frames", 4)
    traj = predict_trajectory(constant_motion_posenet, frames, batch_size=2)
    # T_{i←i−1} moves points by +1 along z, so the camera centre moves by −1 along z per frame.
    expected = np.stack([np.zeros(4), np.zeros(4), -np.arange(4.0)], axis=1)
    np.testing.assert_allclose(traj.positions, expected, atol=1e-6)
    np.testing.assert_allclose(
        traj.poses[:, :3, :3], np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-6
    )


def test_cli_runs_a_saved_posenet_over_a_folder(
    monkeypatch, capsys, tmp_path, constant_motion_posenet
):
    from depthforge.models.io import save_model

    write_frames(tmp_path / "frames", 4)
    model_dir = save_model(constant_motion_posenet, tmp_path / "pose_model")
    gt = compose_relative(translations([[0, 0, 2.0]] * 3))  # the same path, twice as long
    (tmp_path / "gt.txt").write_text(
        "\n".join(" ".join(map(str, p[:3].ravel())) for p in gt) + "\n"
    )
    saved = tmp_path / "pred.txt"
    code, out, _ = run_eval_pose(
        monkeypatch, capsys, "--gt", str(tmp_path / "gt.txt"), "--model", str(model_dir),
        "--images", str(tmp_path / "frames"), "--save-pred", str(saved), "--protocol", "full",
    )  # fmt: skip
    assert code == 0
    assert "alignment_scale  │ 2.0000" in out  # the sim(3) fit doubles the predicted path
    assert "ate_rmse         │ 0.0000" in out and "rpe_trans_rmse   │ 0.0000" in out
    np.testing.assert_allclose(read_kitti_poses(saved).positions[:, 2], [0, -1, -2, -3], atol=1e-6)
