"""Ordinal (relative-depth) metrics on annotated point pairs: WHDR, WKDR and SDR.

Pairs are ``(N, 4)`` integer ``y_a, x_a, y_b, x_b`` (0-based pixels of the prediction) and
relations ``(N,)`` in {−1, 0, +1}, **+1 meaning A is farther than B** (the depthforge ``Sample``
convention). Predictions are depth-like (larger = farther) unless ``disparity=True``, in which
case the order is reversed (Chen et al. 2016 §4.1: a disparity model must flip the sign).

* WHDR (Chen et al. NIPS 2016, ``test_model_on_DIW.lua::_evaluate_correctness``): a pair is
  correct iff ``(z_A − z_B)·r > 0`` (strict, so a tie is wrong); WHDR = wrong / all, pooled
  over every pair of every image (unweighted). DIW has no '=' pairs; they are refused here.
* WKDR (Chen et al. 2016, ``test_model_on_NYU.lua::_evaluate_correctness_our``): the prediction
  says '=' if ``|z_A − z_B| ≤ τ``, '>' if ``z_A − z_B > τ``, '<' otherwise; WKDR, WKDR_= and
  WKDR_≠ are the error rates over all, GT-equal and GT-unequal pairs of an image, averaged over
  images (an image without pairs of a kind is left out of that kind's mean).
* SDR (Li & Snavely, MegaDepth 2018, ``HG_model.py::batch_classify``): on the depth ratio
  ``z_A / z_B`` the label is +1 if > 1.1, −1 if < 1/1.1, 0 otherwise; a pair is wrong when the
  label differs from the GT; counts are pooled over all images, split into '=' and '≠' GT pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _as_image(pred) -> torch.Tensor:
    t = pred if isinstance(pred, torch.Tensor) else torch.from_numpy(np.asarray(pred))
    if t.ndim == 3 and t.shape[0] == 1:
        t = t[0]
    if t.ndim != 2:
        raise ValueError(f"pred must be one (H, W) or (1, H, W) map, got shape {tuple(t.shape)}")
    return t.to(torch.float64)


def pair_values(pred, pairs, relations) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(z_A, z_B, r)`` float64 of one image, after checking the pairs.

    Args:
        pred: ``(H, W)`` or ``(1, H, W)`` map.
        pairs: ``(N, 4)`` int ``y_a, x_a, y_b, x_b`` (0-based).
        relations: ``(N,)`` in {−1, 0, +1}.

    Raises:
        ValueError: wrong shapes, a coordinate outside the image, or a relation not in {−1, 0, 1}.
    """
    z = _as_image(pred)
    p = torch.as_tensor(np.asarray(pairs) if not isinstance(pairs, torch.Tensor) else pairs)
    r = torch.as_tensor(
        np.asarray(relations) if not isinstance(relations, torch.Tensor) else relations
    )
    if p.ndim != 2 or p.shape[1] != 4 or r.shape != (p.shape[0],):
        raise ValueError(
            f"pairs must be (N, 4) and relations (N,), got {tuple(p.shape)} and {tuple(r.shape)}"
        )
    p = p.to(torch.int64)
    h, w = z.shape
    rows, cols = p[:, [0, 2]], p[:, [1, 3]]
    outside = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    if bool(outside.any()):
        first = int(torch.nonzero(outside.any(1))[0])
        raise ValueError(
            f"pair {first} {p[first].tolist()} lies outside the {h}×{w} prediction "
            "(pairs are 0-based y_a, x_a, y_b, x_b)"
        )
    if not bool(((r == -1) | (r == 0) | (r == 1)).all()):
        raise ValueError("relations must be −1, 0 or +1 (+1 = A farther)")
    return z[p[:, 0], p[:, 1]], z[p[:, 2], p[:, 3]], r.to(torch.float64)


@dataclass(frozen=True)
class PairCounts:
    """Wrong and total pair counts, split by the GT relation ('=' vs '≠'); add to pool them."""

    wrong_eq: int = 0
    total_eq: int = 0
    wrong_neq: int = 0
    total_neq: int = 0

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.wrong_eq + other.wrong_eq,
            self.total_eq + other.total_eq,
            self.wrong_neq + other.wrong_neq,
            self.total_neq + other.total_neq,
        )

    @property
    def wrong(self) -> int:
        return self.wrong_eq + self.wrong_neq

    @property
    def total(self) -> int:
        return self.total_eq + self.total_neq

    def rates(self, prefix: str) -> dict[str, float]:
        """``{prefix, prefix_eq, prefix_neq}`` error rates; a kind without pairs is omitted."""
        out = {}
        for key, wrong, total in (
            (prefix, self.wrong, self.total),
            (f"{prefix}_eq", self.wrong_eq, self.total_eq),
            (f"{prefix}_neq", self.wrong_neq, self.total_neq),
        ):
            if total:
                out[key] = wrong / total
        return out


def _counts(predicted: torch.Tensor, r: torch.Tensor) -> PairCounts:
    eq = r == 0
    wrong = predicted != r
    return PairCounts(
        int((wrong & eq).sum()), int(eq.sum()), int((wrong & ~eq).sum()), int((~eq).sum())
    )


def whdr_counts(pred, pairs, relations, *, disparity: bool = False) -> PairCounts:
    """WHDR counts of one image (Chen et al. 2016): correct iff ``(z_A − z_B)·r > 0``.

    Args:
        pred: ``(H, W)`` or ``(1, H, W)`` depth-like map (``disparity=True``: larger = nearer).
        pairs: ``(N, 4)`` 0-based ``y_a, x_a, y_b, x_b``.
        relations: ``(N,)`` in {−1, +1}, +1 = A farther.

    Raises:
        ValueError: a relation is 0 (WHDR has no '='; use :func:`wkdr`), or bad pairs.
    """
    z_a, z_b, r = pair_values(pred, pairs, relations)
    if bool((r == 0).any()):
        raise ValueError("WHDR pairs must be ordered (±1); score '=' pairs with wkdr(...)")
    diff = (z_b - z_a) if disparity else (z_a - z_b)
    correct = diff * r > 0  # strict: a tie is wrong
    return PairCounts(wrong_neq=int((~correct).sum()), total_neq=int(r.numel()))


def whdr(preds, pairs, relations, *, disparity: bool = False) -> float:
    """WHDR pooled over all pairs of all images (Chen et al. 2016, DIW).

    Args:
        preds: one ``(H, W)`` map, or a sequence of maps (one per image).
        pairs, relations: matching pair arrays, or sequences of them (one per image).
        disparity: the maps are disparity-like.

    Returns:
        wrong / total, in [0, 1].
    """
    total = PairCounts()
    for p, q, r in _per_image(preds, pairs, relations):
        total = total + whdr_counts(p, q, r, disparity=disparity)
    if total.total == 0:
        raise ValueError("no pairs to score")
    return total.wrong / total.total


def _per_image(preds, pairs, relations):
    if isinstance(preds, (torch.Tensor, np.ndarray)) and np.ndim(preds) in (2, 3):
        return [(preds, pairs, relations)]
    if not (len(preds) == len(pairs) == len(relations)):
        raise ValueError(
            f"got {len(preds)} predictions, {len(pairs)} pair sets, {len(relations)} relation sets"
        )
    return list(zip(preds, pairs, relations, strict=True))


def wkdr_counts(pred, pairs, relations, tau: float, *, disparity: bool = False) -> PairCounts:
    """WKDR counts of one image at threshold ``tau`` (network-output units, Chen et al. 2016)."""
    if tau < 0:
        raise ValueError(f"tau must be ≥ 0, got {tau}")
    z_a, z_b, r = pair_values(pred, pairs, relations)
    diff = (z_b - z_a) if disparity else (z_a - z_b)
    predicted = torch.where(diff > tau, 1.0, -1.0)
    predicted = torch.where(diff.abs() <= tau, 0.0, predicted)
    return _counts(predicted, r)


def wkdr(preds, pairs, relations, tau: float, *, disparity: bool = False) -> dict[str, float]:
    """WKDR, WKDR_= and WKDR_≠, each per image then averaged over images (Chen et al. 2016).

    Args:
        preds: one map or a sequence of maps; pairs/relations to match (relations may be 0).
        tau: equality threshold on ``|z_A − z_B|`` in prediction units.
        disparity: the maps are disparity-like.

    Returns:
        ``{"wkdr", "wkdr_eq", "wkdr_neq"}`` (a key is absent when no image has such pairs).
    """
    per_image = [
        wkdr_counts(p, q, r, tau, disparity=disparity).rates("wkdr")
        for p, q, r in _per_image(preds, pairs, relations)
    ]
    keys = ("wkdr", "wkdr_eq", "wkdr_neq")
    return {
        k: float(np.mean([rates[k] for rates in per_image if k in rates]))
        for k in keys
        if any(k in rates for rates in per_image)
    }


def sdr_counts(
    pred, pairs, relations, *, ratio: float = 1.1, disparity: bool = False
) -> PairCounts:
    """MegaDepth SDR counts of one image: label from ``z_A / z_B`` against ``ratio``.

    ``pred`` must be positive depth (or positive disparity with ``disparity=True``).
    """
    z_a, z_b, r = pair_values(pred, pairs, relations)
    if bool(((z_a <= 0) | (z_b <= 0)).any()):
        raise ValueError("SDR needs positive depth (or disparity) at every pair point")
    q = (z_b / z_a) if disparity else (z_a / z_b)
    predicted = torch.where(q > ratio, 1.0, torch.where(q < 1.0 / ratio, -1.0, 0.0))
    return _counts(predicted, r)


def sdr(
    preds, pairs, relations, *, ratio: float = 1.1, disparity: bool = False
) -> dict[str, float]:
    """SDR, SDR_= and SDR_≠ with counts pooled over all images (Li & Snavely 2018)."""
    total = PairCounts()
    for p, q, r in _per_image(preds, pairs, relations):
        total = total + sdr_counts(p, q, r, ratio=ratio, disparity=disparity)
    return total.rates("sdr")
