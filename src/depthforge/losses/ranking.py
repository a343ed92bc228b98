"""Pairwise ranking losses: Chen et al. 2016 (DIW) and Xian et al. 2018/2020 online sampling.

Pair format everywhere: ``pairs`` ``(B, N, 4)`` int64 **0-based** ``(y_a, x_a, y_b, x_b)``,
``relations`` ``(B, N)`` in {−1, 0, +1} with **+1 meaning A is farther** (depthforge's
ordinal convention), ``pair_mask`` ``(B, N)`` bool marking real (non-padding) pairs.

Per pair with ``z`` the depth-like prediction (larger = farther), Chen et al. 2016, Eq. 1–2::

    r ≠ 0:  log(1 + exp(−r (z_A − z_B)))      (computed as softplus, stable for large |z|)
    r = 0:  (z_A − z_B)²

A prediction in disparity / inverse-depth space (larger = nearer, e.g. MiDaS) passes
``disparity_like=True``, which uses ``z = −prediction``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.losses._common import (
    check_map,
    check_pairs,
    check_relations,
    empty_loss,
    float32_loss,
    gather_pair_values,
    resolve_mask,
)


def ranking_penalty(
    difference: torch.Tensor, relations: torch.Tensor, equal_weight: float = 1.0
) -> torch.Tensor:
    """Chen et al. 2016, Eq. 2 per pair: ``softplus(−r·Δ)`` for ``r ≠ 0``, ``w_eq·Δ²`` for ``r = 0``.

    Args:
        difference: ``Δ = z_A − z_B``, any shape.
        relations: same shape, in {−1, 0, +1}.
        equal_weight: weight of the equal-pair term (α of Xian et al. 2020; 1 in Chen).
    """
    r = relations.to(difference.dtype)
    return torch.where(relations == 0, equal_weight * difference**2, F.softplus(-r * difference))


@float32_loss
def ranking_loss(
    pred: torch.Tensor,
    pairs: torch.Tensor,
    relations: torch.Tensor,
    pair_mask: torch.Tensor | None = None,
    *,
    disparity_like: bool = False,
    reduction: Literal["batch", "image"] = "batch",
) -> torch.Tensor:
    """Chen et al. 2016 (DIW), Eq. 1–2 ranking loss on annotated point pairs.

    Args:
        pred: ``(B, 1, H, W)`` prediction; depth-like (larger = farther) unless
            ``disparity_like``. Any monotone depth-like output works (log depth, depth, ...).
        pairs: ``(B, N, 4)`` int64 0-based ``(y_a, x_a, y_b, x_b)``.
        relations: ``(B, N)`` in {−1, 0, +1}, +1 = A farther.
        pair_mask: ``(B, N)`` bool, False for padding pairs (default: all True).
        disparity_like: True when larger ``pred`` means nearer.
        reduction: ``"batch"``: sum over all pairs of all images / total pairs
            (``relative_depth_crit``); ``"image"``: mean over images of per-image means.

    Returns:
        Scalar loss.

    Example:
        >>> pred = torch.tensor([[[[1.0, 0.0]]]])
        >>> pairs = torch.tensor([[[0, 0, 0, 1]]])  # A = (0, 0), B = (0, 1)
        >>> round(ranking_loss(pred, pairs, torch.tensor([[1]])).item(), 4)  # log(1 + e^-1)
        0.3133
    """
    check_map("pred", pred)
    check_pairs(pairs, pred)
    check_relations(relations, pairs)
    pair_mask = resolve_mask(pair_mask, relations)
    z_a, z_b = gather_pair_values(-pred if disparity_like else pred, pairs)
    penalty = ranking_penalty(z_a - z_b, relations) * pair_mask
    if reduction == "batch":
        count = pair_mask.sum()
        return penalty.sum() / count if count > 0 else empty_loss(pred, "ranking_loss")
    if reduction != "image":
        raise ValueError(f"reduction must be 'image' or 'batch', got {reduction!r}")
    counts = pair_mask.sum(1)
    has_pairs = counts > 0
    if not bool(has_pairs.any()):
        return empty_loss(pred, "ranking_loss")
    return (penalty.sum(1)[has_pairs] / counts[has_pairs]).mean()


# --- Xian et al. online pair sampling ------------------------------------------------------

TARGET_THRESHOLD = -1e-8
"""Xian et al. 2020 ``mask_value``: random pairs are drawn among pixels with target above it."""

_SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
_SOBEL_Y = ((1.0, 2.0, 1.0), (0.0, 0.0, 0.0), (-1.0, -2.0, -1.0))


def sobel_edges(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel magnitude and direction as in Structure-Guided Ranking Loss ``getEdge``.

    Args:
        image: ``(C, H, W)``; for ``C = 3`` only the **first channel** is used (the reference
            code's choice), otherwise ``C`` must be 1.

    Returns:
        ``(magnitude, theta)``, each ``(H, W)``: valid 3×3 cross-correlation with the kernels
        ``[[-1,0,1],[-2,0,2],[-1,0,1]]`` (x) and ``[[1,2,1],[0,0,0],[-1,-2,-1]]`` (y), then
        zero-padded by one pixel; ``theta = atan2(g_y, g_x)``.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"image must be (1 or 3, H, W), got {tuple(image.shape)}")
    channel = image[:1].unsqueeze(0)
    kernels = torch.tensor((_SOBEL_X, _SOBEL_Y), dtype=channel.dtype, device=channel.device)
    gradients = F.pad(F.conv2d(channel, kernels.unsqueeze(1)), (1, 1, 1, 1))[0]
    return gradients.pow(2).sum(0).sqrt(), torch.atan2(gradients[1], gradients[0])


def edge_guided_pairs(
    image: torch.Tensor,
    generator: torch.Generator | None,
    *,
    edge_fraction: float = 0.1,
    min_distance: int = 2,
    max_distance: int = 30,
) -> torch.Tensor:
    """Edge-guided sampling of Xian et al. 2020 (``edgeGuidedSampling``), for one image.

    Anchors are drawn (with replacement, as many as there are edge pixels) among the pixels
    whose Sobel magnitude is ≥ ``edge_fraction``·max. Around each anchor four points a, b, c, d
    are placed at random integer distances in ``[min_distance, max_distance]`` along
    ``(cos θ, sin θ)`` — a and b on the negative side, c and d on the positive side — rounded
    and clamped into the image; the pairs are (a, b), (b, c), (c, d). As in the reference,
    ``θ`` comes from ``atan2`` of the kernels above and is applied with +row = down, so the
    line follows the gradient up to a vertical mirror (the reference's behaviour, kept).
    A flat image (max magnitude 0) gives no pairs (the reference would take every pixel).

    Args:
        image: ``(C, H, W)`` guide image (see :func:`sobel_edges`).
        generator: random source (CPU generator for CPU tensors).

    Returns:
        ``(3·M, 4)`` int64 pairs ``(y_a, x_a, y_b, x_b)``: all (a, b), then (b, c), then (c, d).
    """
    magnitude, theta = sobel_edges(image)
    h, w = magnitude.shape
    peak = magnitude.max()
    if peak <= 0:
        return torch.zeros(0, 4, dtype=torch.long, device=image.device)
    edge_index = (magnitude >= edge_fraction * peak).flatten().nonzero().squeeze(1)
    count = edge_index.numel()
    device = image.device
    anchors = edge_index[torch.randint(0, count, (count,), generator=generator, device=device)]
    distances = torch.randint(
        min_distance, max_distance + 1, (4, count), generator=generator, device=device
    ).to(theta.dtype)
    distances[:2] = -distances[:2]
    angle = theta.flatten()[anchors]
    rows = (anchors // w) + torch.round(distances * torch.sin(angle)).long()
    cols = (anchors % w) + torch.round(distances * torch.cos(angle)).long()
    points = torch.stack([rows.clamp(0, h - 1), cols.clamp(0, w - 1)], dim=-1)  # (4, M, 2)
    return torch.cat([points[:-1], points[1:]], dim=-1).reshape(-1, 4)


def random_pairs(
    mask: torch.Tensor, num_pairs: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Random sampling of Xian et al. 2020 (``randomSampling``), for one image.

    The valid pixels are shuffled with one ``randperm``; even positions become A and odd
    positions B, for at most ``num_pairs`` pairs (fewer when there are not enough pixels).

    Args:
        mask: ``(H, W)`` bool candidate pixels (the reference uses ``target > −1e-8``).
        num_pairs: wanted number of pairs.
        generator: random source.

    Returns:
        ``(N, 4)`` int64 pairs, ``N = min(num_pairs, ⌊valid/2⌋)``.
    """
    w = mask.shape[-1]
    candidates = mask.flatten().nonzero().squeeze(1)
    order = candidates[torch.randperm(candidates.numel(), generator=generator, device=mask.device)]
    n = min(num_pairs, order.numel() // 2)
    a, b = order[0 : 2 * n : 2], order[1 : 2 * n : 2]
    return torch.stack([a // w, a % w, b // w, b % w], dim=-1)


REDWEB_RATIO = 1.02
"""The '=' threshold on the depth ratio stated in the ReDWeb paper (Xian et al. 2018, σ = 0.02)."""


def ratio_relations(a, b, ratio: float = REDWEB_RATIO):
    """The depth-ratio test of Zoran et al. 2015 / Chen et al. 2016 / Xian et al. 2018: ``+1``
    (A farther) where ``a/b ≥ ratio``, ``−1`` where ``a/b ≤ 1/ratio``, ``0`` ('=') otherwise.

    Args:
        a, b: positive depths of the two ends of each pair, NumPy arrays or tensors of one shape.
        ratio: the threshold ``1 + σ`` (≥ 1).

    Returns:
        int64 relations of the same shape and kind (array or tensor) as ``a``.
    """
    if ratio < 1.0:
        raise ValueError(f"ratio must be ≥ 1, got {ratio}")
    quotient = a / b
    return 1 * (quotient >= ratio) - 1 * (quotient <= 1.0 / ratio)


def ordinal_relations(
    target: torch.Tensor,
    pairs: torch.Tensor,
    *,
    sigma: float = 0.03,
    disparity_like: bool = False,
) -> torch.Tensor:
    """Ordinal labels from a dense target by the ratio test of Xian et al.

    :func:`ratio_relations` of ``t_A + 1e-6`` and ``t_B + 1e-6`` with ``ratio = 1 + σ``:
    ``ratio ≥ 1 + σ`` → A larger, ``≤ 1/(1 + σ)`` → B larger, otherwise equal (0). σ = 0.03 is the 2020 code's value; the 2018 ReDWeb paper
    states 0.02.

    Args:
        target: ``(B, 1, H, W)`` non-negative depth (or disparity if ``disparity_like``).
        pairs: ``(B, N, 4)`` int64 pairs.
        sigma: relative-difference threshold.
        disparity_like: True when larger ``target`` means nearer (labels are flipped so that
            +1 always means A farther).

    Returns:
        ``(B, N)`` int64 relations in {−1, 0, +1}, +1 = A farther.
    """
    t_a, t_b = gather_pair_values(target, pairs)
    larger = ratio_relations(t_a + 1e-6, t_b + 1e-6, 1.0 + sigma)
    return -larger if disparity_like else larger


def sample_xian_pairs(
    target: torch.Tensor,
    image: torch.Tensor,
    mask: torch.Tensor | None,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Edge-guided + random pairs for every image, padded to a common ``N``.

    Per image (Xian et al. 2020 ``EdgeguidedRankingLoss.forward``): ``3M`` edge-guided pairs
    from ``M`` anchors, then ``M`` random pairs drawn, as the reference's ``randomSampling``,
    among **all pixels whose target exceeds** ``TARGET_THRESHOLD`` (−1e-8: every pixel of a
    non-negative target, whatever ``mask`` says). A pair with an invalid endpoint stays sampled
    but not valid: it adds nothing to the loss and counts in its denominator, as in the reference.

    Args:
        target: ``(B, 1, H, W)``.
        image: ``(B, C, H, W)`` guide image (channel 0 is used when ``C = 3``).
        mask: ``(B, 1, H, W)`` bool valid target pixels.
        generator: random source.

    Returns:
        ``(pairs, sampled, valid)``: ``(B, N, 4)`` int64, ``(B, N)`` bool (False = padding) and
        ``(B, N)`` bool (both endpoints valid).
    """
    mask = resolve_mask(mask, target)
    per_image = []
    for index in range(target.shape[0]):
        edge = edge_guided_pairs(image[index], generator)
        anchors = edge.shape[0] // 3
        candidates = target[index, 0] > TARGET_THRESHOLD
        per_image.append(torch.cat([edge, random_pairs(candidates, anchors, generator)]))
    longest = max(p.shape[0] for p in per_image)
    pairs = torch.zeros(len(per_image), longest, 4, dtype=torch.long, device=target.device)
    sampled = torch.zeros(len(per_image), longest, dtype=torch.bool, device=target.device)
    for index, image_pairs in enumerate(per_image):
        pairs[index, : image_pairs.shape[0]] = image_pairs
        sampled[index, : image_pairs.shape[0]] = True
    valid_a, valid_b = gather_pair_values(mask, pairs)
    return pairs, sampled, sampled & valid_a & valid_b


@float32_loss
def sampled_ranking_loss(
    pred: torch.Tensor,
    pairs: torch.Tensor,
    relations: torch.Tensor,
    sampled: torch.Tensor,
    valid: torch.Tensor,
    *,
    equal_weight: float = 1.0,
    keep_hardest: float = 1.0,
    disparity_like: bool = False,
) -> torch.Tensor:
    """Ranking loss on sampled pairs with Xian et al.'s normalisation and hard-pair selection.

    Per image: ``Σ_kept m·penalty / k`` with ``k = ⌈keep_hardest · (number of sampled pairs)⌉``
    and the kept pairs the ``k`` with the largest (detached) penalty, pairs with an invalid
    endpoint (``m = 0``) ranked last. With ``keep_hardest = 1`` this is exactly the reference
    ``α·mean(eq·Δ²·m) + mean(¬eq·log(1+exp(−ℓΔ))·m)`` (masked pairs count in the denominator).
    ``keep_hardest < 1`` is the "improved ranking loss" of Xian et al. 2018 (drop the easiest
    pairs); its fraction in the paper is unverified, so there is no default other than 1.
    The batch loss is the sum of the per-image losses divided by the batch size ``B``, as the
    reference's ``loss / n``; an image without sampled pairs adds 0 (the reference's mean over no
    pairs would be NaN; its edge-guided sampler always finds pairs).

    Args:
        pred: ``(B, 1, H, W)`` prediction (depth-like unless ``disparity_like``).
        pairs: ``(B, N, 4)`` int64; relations: ``(B, N)`` in {−1, 0, +1} (+1 = A farther).
        sampled: ``(B, N)`` bool, False for padding.
        valid: ``(B, N)`` bool, both endpoints valid.
        equal_weight: α of the equal-pair term (1).
        keep_hardest: fraction in ``(0, 1]`` of each image's pairs to keep.
        disparity_like: True when larger ``pred`` means nearer.

    Returns:
        Scalar loss.
    """
    if not 0.0 < keep_hardest <= 1.0:
        raise ValueError(f"keep_hardest must be in (0, 1], got {keep_hardest}")
    check_map("pred", pred)
    check_pairs(pairs, pred)
    check_relations(relations, pairs)
    z_a, z_b = gather_pair_values(-pred if disparity_like else pred, pairs)
    penalty = ranking_penalty(z_a - z_b, relations, equal_weight) * valid
    counts = sampled.sum(1)
    has_pairs = counts > 0
    if not bool(has_pairs.any()):
        return empty_loss(pred, "sampled_ranking_loss")
    batch = pred.shape[0]
    if keep_hardest == 1.0:
        return (penalty.sum(1)[has_pairs] / counts[has_pairs]).sum() / batch
    kept_counts = torch.ceil(counts.to(penalty.dtype) * keep_hardest).long()
    score = torch.where(valid, penalty.detach(), -math.inf)
    rank = score.argsort(dim=1, descending=True).argsort(dim=1)
    kept = rank < kept_counts[:, None]
    per_image = (penalty * kept).sum(1)[has_pairs] / kept_counts[has_pairs]
    return per_image.sum() / batch


@float32_loss
def xian_ranking_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    image: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    generator: torch.Generator | None,
    sigma: float = 0.03,
    equal_weight: float = 1.0,
    keep_hardest: float = 1.0,
    disparity_like: bool = False,
) -> torch.Tensor:
    """Xian et al. (ReDWeb 2018; Structure-Guided Ranking Loss 2020) ranking loss.

    Samples edge-guided + random pairs (:func:`sample_xian_pairs`), labels them from
    ``target`` (:func:`ordinal_relations`) and applies :func:`sampled_ranking_loss`.
    ``pred`` and ``target`` must be in the same space (both depth-like, or both
    disparity-like with ``disparity_like=True``).

    Args:
        pred: ``(B, 1, H, W)`` prediction.
        target: ``(B, 1, H, W)`` ground truth, non-negative.
        image: ``(B, C, H, W)`` guide image for the edges.
        mask: ``(B, 1, H, W)`` bool valid target pixels.
        generator: random source for the sampling.
        sigma: label threshold (0.03 as in the 2020 code; the 2018 paper says 0.02).
        equal_weight, keep_hardest: see :func:`sampled_ranking_loss`.
        disparity_like: True when ``pred`` and ``target`` are disparity-like.

    Returns:
        Scalar loss.
    """
    check_map("pred", pred)
    check_map("target", target)
    with torch.no_grad():
        pairs, sampled, valid = sample_xian_pairs(target.detach(), image.detach(), mask, generator)
        relations = ordinal_relations(target, pairs, sigma=sigma, disparity_like=disparity_like)
    return sampled_ranking_loss(
        pred,
        pairs,
        relations,
        sampled,
        valid,
        equal_weight=equal_weight,
        keep_hardest=keep_hardest,
        disparity_like=disparity_like,
    )


class RankingLoss(nn.Module):
    """Module form of :func:`ranking_loss`."""

    def __init__(self, disparity_like: bool = False, reduction: str = "batch") -> None:
        super().__init__()
        self.disparity_like, self.reduction = disparity_like, reduction

    def forward(self, pred, pairs, relations, pair_mask=None):
        return ranking_loss(
            pred,
            pairs,
            relations,
            pair_mask,
            disparity_like=self.disparity_like,
            reduction=self.reduction,
        )


class XianRankingLoss(nn.Module):
    """Module form of :func:`xian_ranking_loss`.

    Owns a generator seeded with ``seed``, created on the device of the first batch (a
    generator must live on the device it draws for) and reused afterwards.
    """

    def __init__(
        self,
        seed: int = 0,
        sigma: float = 0.03,
        equal_weight: float = 1.0,
        keep_hardest: float = 1.0,
        disparity_like: bool = False,
    ) -> None:
        super().__init__()
        self.seed = seed
        self.generator: torch.Generator | None = None
        self.sigma, self.equal_weight = sigma, equal_weight
        self.keep_hardest, self.disparity_like = keep_hardest, disparity_like

    def forward(self, pred, target, image, mask=None):
        if self.generator is None or self.generator.device != pred.device:
            self.generator = torch.Generator(device=pred.device).manual_seed(self.seed)
        return xian_ranking_loss(
            pred,
            target,
            image,
            mask,
            generator=self.generator,
            sigma=self.sigma,
            equal_weight=self.equal_weight,
            keep_hardest=self.keep_hardest,
            disparity_like=self.disparity_like,
        )
