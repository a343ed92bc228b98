"""Quality measures against hand-computed cases and a simulated crowd."""

from __future__ import annotations

import numpy as np
import pytest

from depthforge.annotate.quality import agreement, dawid_skene, gold_accuracy, majority


def test_majority_with_ties_and_unanswered_items():
    items = np.array([0, 0, 0, 1, 1, 3])
    labels = np.array([2, 2, 0, 0, 1, 1])
    # item 0: two votes for 2; item 1: a 1–1 tie; item 2: no votes; item 3: one vote for 1
    assert majority(items, labels, 4, 3).tolist() == [2, -1, -1, 1]


def test_dawid_skene_one_em_step_by_hand():
    # Two classes (0, 1), three workers, three items; votes (item, worker, label):
    items = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    workers = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    labels = np.array([1, 1, 0, 0, 0, 0, 1, 1, 1])
    fit = dawid_skene(items, workers, labels, 3, 3, 2, max_iterations=1, smoothing=0.0)
    # Start: vote fractions T = [[1/3, 2/3], [1, 0], [0, 1]].
    # M-step: prior = column means = [4/9, 5/9].
    np.testing.assert_allclose(fit.prior, [4 / 9, 5 / 9])
    # Workers 0 and 1 voted (1, 0, 1) on items (0, 1, 2): for true class 0 the weights are
    # (1/3, 1, 0), so P(vote 0 | 0) = 1 / (4/3) = 3/4; for true class 1 (2/3, 0, 1): P(vote 1) = 1.
    # Worker 2 voted (0, 0, 1): class 0 → (1/3 + 1) / (4/3) = 1 for vote 0; class 1 → vote 0
    # has weight 2/3 of 5/3: 2/5, vote 1 has 3/5.
    expected = np.array(
        [[[3 / 4, 1 / 4], [0, 1]], [[3 / 4, 1 / 4], [0, 1]], [[1, 0], [2 / 5, 3 / 5]]]
    )
    np.testing.assert_allclose(fit.confusion, expected)
    # E-step, item 0 (votes 1, 1, 0): class 0 ∝ 4/9 · 1/4 · 1/4 · 1 = 1/36,
    # class 1 ∝ 5/9 · 1 · 1 · 2/5 = 8/36 → [1/9, 8/9]. Items 1 and 2 become certain.
    np.testing.assert_allclose(fit.posterior, [[1 / 9, 8 / 9], [1, 0], [0, 1]], atol=1e-12)


def simulated_crowd(rng, n_items=300, accuracies=(0.95,) * 4 + (0.4,) * 5, per_item=5):
    """Items with true labels in {0, 1, 2}; each answered by ``per_item`` random workers who are
    right with their accuracy and otherwise pick one of the two wrong labels at random."""
    truth = rng.integers(0, 3, n_items)
    items, workers, labels = [], [], []
    for i in range(n_items):
        for w in rng.choice(len(accuracies), per_item, replace=False):
            right = rng.random() < accuracies[w]
            label = truth[i] if right else (truth[i] + rng.integers(1, 3)) % 3
            items.append(i), workers.append(w), labels.append(label)
    return truth, np.array(items), np.array(workers), np.array(labels)


def test_dawid_skene_finds_the_reliable_workers_and_beats_majority():
    rng = np.random.default_rng(0)
    accuracies = np.array([0.95] * 4 + [0.4] * 5)  # a reliable minority, an unreliable majority
    truth, items, workers, labels = simulated_crowd(rng, accuracies=tuple(accuracies))
    fit = dawid_skene(items, workers, labels, len(truth), len(accuracies), 3)
    estimated = fit.worker_accuracy
    assert estimated[:4].min() > estimated[4:].max()  # the split is recovered
    np.testing.assert_allclose(estimated, accuracies, atol=0.08)
    ds_right = (fit.labels == truth).mean()
    mv = majority(items, labels, len(truth), 3)
    mv_right = (mv == truth).mean()
    assert ds_right > 0.95 and ds_right > mv_right + 0.05


def test_fleiss_kappa_by_hand():
    # 2 items × 3 raters, 2 classes: item 0 votes (0, 0, 0) → P_0 = 1; item 1 (0, 0, 1) →
    # P_1 = (2² + 1² − 3) / 6 = 1/3. P̄ = 2/3; p = (5/6, 1/6), P_e = 26/36;
    # κ = (2/3 − 26/36) / (1 − 26/36) = (−2/36) / (10/36) = −0.2.
    items = np.array([0, 0, 0, 1, 1, 1])
    labels = np.array([0, 0, 0, 0, 0, 1])
    result = agreement(items, labels, 2, 2)
    assert result["pairwise"] == pytest.approx(2 / 3)
    assert result["fleiss_kappa"] == pytest.approx(-0.2)
    assert result["items"] == 2
    assert agreement(np.array([0]), np.array([1]), 1, 2)["fleiss_kappa"] is None


def test_gold_accuracy_per_worker():
    accuracy, n = gold_accuracy(np.array([0, 0, 0, 2]), np.array([1, 0, 1, 1]), 3)
    np.testing.assert_allclose(accuracy[[0, 2]], [2 / 3, 1])
    assert np.isnan(accuracy[1]) and n.tolist() == [3, 0, 1]
