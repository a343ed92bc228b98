"""Quality of crowd answers: accuracy on gold pairs, agreement, and aggregation of the k answers
of a pair by majority or by the worker-reliability model of Dawid & Skene (1979).

Votes are three parallel ``(V,)`` int arrays: ``items`` (0 … I−1), ``workers`` (0 … W−1) and
``labels`` (0 … K−1). "Can't tell" answers are not votes; callers leave them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

DS_SMOOTHING = 0.01
"""Pseudo-count added to every confusion-matrix cell and class prior in the M-step."""


def vote_counts(items: np.ndarray, labels: np.ndarray, n_items: int, n_classes: int) -> np.ndarray:
    """``(I, K)`` number of votes per item and label."""
    counts = np.zeros((n_items, n_classes))
    np.add.at(counts, (items, labels), 1)
    return counts


def majority(items: np.ndarray, labels: np.ndarray, n_items: int, n_classes: int) -> np.ndarray:
    """``(I,)`` the label with the most votes; −1 where an item has no votes or a tie for the
    most."""
    counts = vote_counts(items, labels, n_items, n_classes)
    best = counts.max(axis=1, keepdims=True)
    decided = (counts == best).sum(axis=1) == 1
    return np.where(decided & (best[:, 0] > 0), counts.argmax(axis=1), -1)


@dataclass(frozen=True)
class DawidSkene:
    """The fitted model.

    Attributes:
        posterior: ``(I, K)`` P(true label of item i = k | votes).
        confusion: ``(W, K, K)`` π[w, j, l] = P(worker w answers l | true label j).
        prior: ``(K,)`` class proportions.
        iterations: EM iterations run.
    """

    posterior: np.ndarray
    confusion: np.ndarray
    prior: np.ndarray
    iterations: int

    @property
    def labels(self) -> np.ndarray:
        """``(I,)`` the most probable label of each item."""
        return self.posterior.argmax(axis=1)

    @property
    def worker_accuracy(self) -> np.ndarray:
        """``(W,)`` Σ_j prior_j π[w, j, j]: a worker's expected accuracy under the model."""
        return np.einsum("j,wjj->w", self.prior, self.confusion)


def dawid_skene(
    items: np.ndarray,
    workers: np.ndarray,
    labels: np.ndarray,
    n_items: int,
    n_workers: int,
    n_classes: int,
    *,
    max_iterations: int = 100,
    tol: float = 1e-6,
    smoothing: float = DS_SMOOTHING,
) -> DawidSkene:
    """Dawid & Skene (1979) EM for the true labels of items answered by workers of unknown
    reliability.

    Initialisation (their §4): the posterior of each item is its vote fractions. Then, until the
    posterior changes by less than ``tol``:

    * M-step (their Eq. 2.3, 2.4): prior_j = Σ_i T_ij / I;
      π[w, j, l] = Σ_i T_ij n_il^(w) / Σ_l Σ_i T_ij n_il^(w);
    * E-step (their Eq. 2.5): T_ij ∝ prior_j Π_w Π_l π[w, j, l]^(n_il^(w)), in log space.

    Deviation: ``smoothing`` is added to every count of the M-step (0 gives the maximum
    likelihood estimate of the paper); it keeps a worker who never saw a class from having an
    undefined row. An item without votes gets the prior.
    """
    items, workers, labels = (np.asarray(a, dtype=np.int64) for a in (items, workers, labels))
    counts = vote_counts(items, labels, n_items, n_classes)
    total = counts.sum(axis=1, keepdims=True)
    posterior = np.divide(counts, total, out=np.full_like(counts, 1 / n_classes), where=total > 0)
    classes = np.arange(n_classes)
    iteration = 0
    while iteration < max_iterations:
        iteration += 1
        prior = (posterior.sum(axis=0) + smoothing) / (n_items + n_classes * smoothing)
        confusion = np.full((n_workers, n_classes, n_classes), smoothing)
        np.add.at(
            confusion, (workers[:, None], classes[None, :], labels[:, None]), posterior[items]
        )
        mass = confusion.sum(axis=2, keepdims=True)
        confusion = np.divide(
            confusion, mass, out=np.full_like(confusion, 1 / n_classes), where=mass > 0
        )
        with np.errstate(divide="ignore"):
            log_post = np.tile(np.log(prior), (n_items, 1))
            np.add.at(log_post, items, np.log(confusion[workers, :, labels]))
        new = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
        change = np.abs(new - posterior).max()
        posterior = new
        if change < tol:
            break
    return DawidSkene(posterior, confusion, prior, iteration)


def gold_accuracy(
    workers: np.ndarray, correct: np.ndarray, n_workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(W,)`` fraction of each worker's gold answers that are right (NaN without any) and
    ``(W,)`` how many gold answers each gave."""
    n = np.bincount(workers, minlength=n_workers).astype(np.float64)
    right = np.bincount(workers, weights=correct.astype(np.float64), minlength=n_workers)
    with np.errstate(invalid="ignore", divide="ignore"):
        return right / n, n.astype(np.int64)


def agreement(items: np.ndarray, labels: np.ndarray, n_items: int, n_classes: int) -> dict:
    """Agreement among the answers to the same item (items with at least two votes).

    Returns:
        ``{"pairwise": P̄, "fleiss_kappa": κ, "items": count}``: P̄ is the mean over items of the
        fraction of agreeing ordered answer pairs, P_i = (Σ_j n_ij² − n_i) / (n_i (n_i − 1));
        κ = (P̄ − P_e) / (1 − P_e) with P_e = Σ_j p_j², p_j the share of all answers in class j
        (Fleiss 1971, Eq. 1–9, with n_i allowed to vary per item); None where undefined.
    """
    counts = vote_counts(items, labels, n_items, n_classes)
    n = counts.sum(axis=1)
    counts, n = counts[n >= 2], n[n >= 2]
    if len(n) == 0:
        return {"pairwise": None, "fleiss_kappa": None, "items": 0}
    p_i = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    p_bar = float(p_i.mean())
    p_e = float(((counts.sum(axis=0) / n.sum()) ** 2).sum())
    kappa = (p_bar - p_e) / (1 - p_e) if p_e < 1 else None
    return {"pairwise": p_bar, "fleiss_kappa": kappa, "items": int(len(n))}
