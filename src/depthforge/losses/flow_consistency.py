"""GeoNet flow losses (Yin & Shi 2018, "GeoNet: Unsupervised Learning of Dense Depth, Optical Flow
and Camera Pose"): rigid flow, full flow, flow warping and forward-backward consistency.

Flows are ``(B, 2, H, W)`` displacements ``(Δu, Δv)`` in pixels of the tensor they travel with:
``f_{t→s}(p)`` says where target pixel ``p`` is found in the source, ``p + f_{t→s}(p)``.

* :func:`~depthforge.geometry.warp.rigid_flow` — Eq. 1,
  ``f^rig_{t→s}(p) = K T_{t→s} D_t(p) K⁻¹ p − p`` (via :func:`~depthforge.geometry.warp.reproject`).
* :func:`~depthforge.geometry.warp.full_flow` — §3.4, ``f^full = f^rig + f^res`` (the residual
  comes from :class:`~depthforge.models.resflow.ResFlowNet`).
* :func:`~depthforge.geometry.warp.warp_by_flow` — inverse warping
  ``Ĩ_s(p) = I_s(p + f_{t→s}(p))`` with the one sampler,
  :func:`~depthforge.geometry.warp.sample_image`, zero outside ``[0, W−1) × [0, H−1)`` as
  GeoNet's ``bilinear_sampler``.
* :func:`forward_backward_check` — §3.5: ``Δf_{t→s}(p) = f_{t→s}(p) + f_{s→t}(p + f_{t→s}(p))``
  and the condition ``δ(p)``: ``‖Δf‖₂ < max(α, β‖f_{t→s}‖₂)`` (Eq. 5, ``(α, β) = (3.0, 0.05)``).
* :func:`flow_consistency_loss` — Eq. 4, ``L_gc = Σ_p [δ(p)]·‖Δf(p)‖₁``, both directions.
* :func:`flow_warp_loss` — ``L_fw``: Eq. 2 (``0.85·SSIM-term + 0.15·L1``, reusing
  :func:`~depthforge.losses.photometric.photometric_error`) on the full-flow warp, weighted by
  ``[δ(p)]`` (§3.5: occluded pixels only get the smoothness term).
* :func:`flow_smoothness` — ``L_fs``: Eq. 3 applied to each flow component
  (:func:`~depthforge.losses.smoothness.edge_aware_smoothness` without mean normalisation).
* :func:`geonet_flow_loss` — Eq. 6 restricted to the flow stage at one scale:
  ``L_fw + λ_fs L_fs + λ_gc L_gc`` with GeoNet's ``λ_fs = λ_gc = 0.2``, averaged over the two
  directions.

Reductions follow GeoNet's code (``geonet_model.py::build_losses``): masked terms are
``Σ(term · mask) / Σ mask`` pooled over the batch, channel-wise terms are averaged over channels
(so ``‖Δf‖₁`` enters as the mean of ``|Δu|`` and ``|Δv|``), and the consistency bound is a
constant (no gradient flows through ``δ``). Differences from GeoNet: our SSIM pads by reflection
(GeoNet: TensorFlow ``SAME`` average pooling), and everything here is one scale — GeoNet sums the
terms over 4 scales with flows in each scale's pixels; at scale ``s`` its ``α`` is in full-
resolution pixels, so pass ``alpha=3.0 / 2**s`` to reproduce that.
"""

from __future__ import annotations

import torch
from torch import nn

from depthforge.geometry.warp import warp_by_flow
from depthforge.losses._common import check_map, check_same_shape, float32_loss, reduce_masked
from depthforge.losses.photometric import photometric_error
from depthforge.losses.smoothness import edge_aware_smoothness

CONSISTENCY_ALPHA = 3.0  # GeoNet Eq. 5 and flow_consistency_alpha
CONSISTENCY_BETA = 0.05  # GeoNet Eq. 5 and flow_consistency_beta
FLOW_SMOOTH_WEIGHT = 0.2  # GeoNet §4.1, λ_fs
CONSISTENCY_WEIGHT = 0.2  # GeoNet §4.1, λ_gc


def forward_backward_check(
    flow_fwd: torch.Tensor,
    flow_bwd: torch.Tensor,
    alpha: float = CONSISTENCY_ALPHA,
    beta: float = CONSISTENCY_BETA,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GeoNet §3.5: flow difference ``Δf`` and the consistency condition ``δ`` (Eq. 5).

    ``Δf(p) = f_fwd(p) + f_bwd(p + f_fwd(p))`` (zero for a static, visible point), and a pixel is
    consistent when ``‖Δf(p)‖₂ < max(α, β‖f_fwd(p)‖₂)``. Pixels that are occluded in the other
    view (or move non-rigidly without being modelled) fail it.

    Args:
        flow_fwd: ``(B, 2, H, W)`` flow from this view to the other, pixels.
        flow_bwd: ``(B, 2, H', W')`` flow from the other view back to this one.
        alpha: absolute tolerance in pixels (3.0).
        beta: tolerance relative to the flow magnitude (0.05).

    Returns:
        ``(difference, consistent)``: ``(B, 2, H, W)`` ``Δf`` and ``(B, 1, H, W)`` bool ``δ``.
    """
    check_map("flow_fwd", flow_fwd, channels=2)
    check_map("flow_bwd", flow_bwd, channels=2)
    difference = flow_fwd + warp_by_flow(flow_bwd, flow_fwd)
    with torch.no_grad():  # GeoNet: tf.stop_gradient on the bound; the mask is a constant
        bound = (beta * flow_fwd.norm(dim=1, keepdim=True)).clamp(min=alpha)
        consistent = difference.norm(dim=1, keepdim=True) < bound
    return difference, consistent


@float32_loss
def flow_consistency_loss(
    flow_fwd: torch.Tensor,
    flow_bwd: torch.Tensor,
    alpha: float = CONSISTENCY_ALPHA,
    beta: float = CONSISTENCY_BETA,
) -> torch.Tensor:
    """GeoNet ``L_gc`` (Eq. 4) averaged over both directions (``geonet_model.py``).

    ``½ Σ_dir [Σ_p δ(p) · mean_c |Δf(p)|] / Σ_p δ(p)``, pooled over the batch.

    Args:
        flow_fwd: ``(B, 2, H, W)`` target → source full flow, pixels.
        flow_bwd: ``(B, 2, H, W)`` source → target full flow, pixels.
        alpha, beta: the consistency condition (Eq. 5).

    Returns:
        Scalar ≥ 0; 0 when the two flows are exact inverses on every consistent pixel.
    """
    check_same_shape(flow_fwd=flow_fwd, flow_bwd=flow_bwd)
    total = flow_fwd.new_zeros(())
    for this, other in ((flow_fwd, flow_bwd), (flow_bwd, flow_fwd)):
        difference, consistent = forward_backward_check(this, other, alpha, beta)
        per_pixel = difference.abs().mean(1, keepdim=True)
        total = total + reduce_masked(per_pixel, consistent, "batch", "flow_consistency_loss")
    return total / 2


@float32_loss
def flow_warp_loss(
    target: torch.Tensor,
    source: torch.Tensor,
    flow_t_to_s: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    alpha: float = 0.85,
) -> torch.Tensor:
    """GeoNet ``L_fw``: Eq. 2 between ``target`` and ``source`` warped by the full flow.

    Args:
        target: ``(B, C, H, W)`` image in ``[0, 1]``.
        source: ``(B, C, H, W)`` image in ``[0, 1]``.
        flow_t_to_s: ``(B, 2, H, W)`` full flow, pixels.
        mask: ``(B, 1, H, W)`` bool pixels to use — GeoNet passes ``δ`` of
            :func:`forward_backward_check`; ``None`` uses all.
        alpha: SSIM weight (0.85, GeoNet ``alpha_recon_image``).

    Returns:
        Scalar: masked mean of the per-pixel error, pooled over the batch.
    """
    check_same_shape(target=target, source=source)
    warped = warp_by_flow(source, flow_t_to_s)
    error = photometric_error(warped, target, alpha=alpha)
    mask = torch.ones_like(error, dtype=torch.bool) if mask is None else mask
    return reduce_masked(error, mask, "batch", "flow_warp_loss")


@float32_loss
def flow_smoothness(flow: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """GeoNet ``L_fs``: edge-aware smoothness (Eq. 3) of ``u`` and ``v`` flow, averaged.

    GeoNet ``compute_flow_smooth_loss``: no mean normalisation of the flow (unlike monodepth2's
    disparity smoothness).

    Args:
        flow: ``(B, 2, H, W)`` pixels.
        image: ``(B, C, H, W)`` guide image of the view the flow starts from.
    """
    check_map("flow", flow, channels=2)
    terms = [edge_aware_smoothness(c, image, normalize=False) for c in flow.split(1, dim=1)]
    return (terms[0] + terms[1]) / 2


@float32_loss
def geonet_flow_loss(
    target: torch.Tensor,
    source: torch.Tensor,
    flow_fwd: torch.Tensor,
    flow_bwd: torch.Tensor,
    *,
    flow_smooth_weight: float = FLOW_SMOOTH_WEIGHT,
    consistency_weight: float = CONSISTENCY_WEIGHT,
    alpha: float = CONSISTENCY_ALPHA,
    beta: float = CONSISTENCY_BETA,
) -> dict[str, torch.Tensor]:
    """GeoNet's flow-stage objective at one scale (Eq. 6 without the rigid terms).

    ``L_fw + λ_fs L_fs + λ_gc L_gc``; each term is the mean of its forward (target → source)
    and backward (source → target) versions, as ``geonet_model.py`` (which additionally scales
    ``L_fw`` by ``num_source / 2`` and ``L_fs`` by ``1 / 2^(s+1)`` per scale).

    Args:
        target: ``(B, C, H, W)`` target image.
        source: ``(B, C, H, W)`` source image.
        flow_fwd: ``(B, 2, H, W)`` target → source full flow, pixels.
        flow_bwd: ``(B, 2, H, W)`` source → target full flow, pixels.
        flow_smooth_weight: ``λ_fs`` (0.2).
        consistency_weight: ``λ_gc`` (0.2; 0 disables the check and uses every pixel in
            ``L_fw``, as GeoNet with ``flow_consistency_weight = 0``).
        alpha, beta: the consistency condition (Eq. 5).

    Returns:
        ``{"loss", "flow_warp", "flow_smooth", "flow_consistency"}`` scalars.
    """
    warp_terms, smooth_terms = [], []
    for img_a, img_b, f_ab, f_ba in ((target, source, flow_fwd, flow_bwd),
                                     (source, target, flow_bwd, flow_fwd)):  # fmt: skip
        mask = forward_backward_check(f_ab, f_ba, alpha, beta)[1] if consistency_weight else None
        warp_terms.append(flow_warp_loss(img_a, img_b, f_ab, mask))
        smooth_terms.append(flow_smoothness(f_ab, img_a))
    warp = (warp_terms[0] + warp_terms[1]) / 2
    smooth = (smooth_terms[0] + smooth_terms[1]) / 2
    consistency = (
        flow_consistency_loss(flow_fwd, flow_bwd, alpha, beta)
        if consistency_weight
        else warp.new_zeros(())
    )
    loss = warp + flow_smooth_weight * smooth + consistency_weight * consistency
    return {
        "loss": loss,
        "flow_warp": warp,
        "flow_smooth": smooth,
        "flow_consistency": consistency,
    }


class FlowConsistencyLoss(nn.Module):
    """Module form of :func:`flow_consistency_loss`."""

    def __init__(self, alpha: float = CONSISTENCY_ALPHA, beta: float = CONSISTENCY_BETA) -> None:
        super().__init__()
        self.alpha, self.beta = alpha, beta

    def forward(self, flow_fwd, flow_bwd):
        return flow_consistency_loss(flow_fwd, flow_bwd, self.alpha, self.beta)


class GeoNetFlowLoss(nn.Module):
    """Module form of :func:`geonet_flow_loss`; returns the dict of terms."""

    def __init__(
        self,
        flow_smooth_weight: float = FLOW_SMOOTH_WEIGHT,
        consistency_weight: float = CONSISTENCY_WEIGHT,
        alpha: float = CONSISTENCY_ALPHA,
        beta: float = CONSISTENCY_BETA,
    ) -> None:
        super().__init__()
        self.flow_smooth_weight, self.consistency_weight = flow_smooth_weight, consistency_weight
        self.alpha, self.beta = alpha, beta

    def forward(self, target, source, flow_fwd, flow_bwd):
        return geonet_flow_loss(
            target,
            source,
            flow_fwd,
            flow_bwd,
            flow_smooth_weight=self.flow_smooth_weight,
            consistency_weight=self.consistency_weight,
            alpha=self.alpha,
            beta=self.beta,
        )
