"""Self-supervised depth from monocular video: Zhou et al. 2017 (SfMLearner, CVPR) with the
refinements of Godard et al. 2019 (monodepth2, ICCV) — monodepth2 ``trainer.py::compute_losses``
for the monocular case (frame ids 0, −1, +1).

Per batch (target ``I_t`` and S source frames ``I_s`` of the same sequence):

1. the depth network gives four sigmoid disparities; each is upsampled bilinearly
   (``align_corners=False``) to the input size (monodepth2's default; ``upsample: false`` keeps
   each scale's own resolution with resized images and intrinsics, as SfMLearner and monodepth2
   ``--v1_multiscale``) and turned into depth with ``disp_to_depth``;
2. :meth:`MonocularVideo.relative_poses` predicts ``T_{t→s}`` per source with the pose network
   (monodepth2's "pairs" input in temporal order, inverted for earlier frames);
3. every source is warped into the target view (:func:`depthforge.geometry.warp.reproject`
   and :func:`~depthforge.geometry.warp.sample_image`, SfMLearner Eq. 2), all S sources
   stacked into the batch dimension;
4. photometric error ``0.85·(1 − SSIM)/2 + 0.15·L1`` (monodepth2 Eq. 1; the target's SSIM
   statistics and, when upsampling, the identity errors are computed once per step, not per
   scale and source as in monodepth2), per-pixel minimum over
   sources (Eq. 4) with auto-masking by the identity reprojection (§3.3) — or, with
   ``explainability: true``, SfMLearner's explainability-weighted error (Eq. 3) plus its
   regulariser (weight 0.2) instead of the minimum and auto-masking;
5. edge-aware smoothness on the mean-normalised disparity at its native scale, guided by the target
   at that scale, weighted 1e-3 / 2^scale (monodepth2 Eq. 3);
6. the loss is the mean over the four scales.

Two options from later papers:

* ``ddvo_iterations > 0``: the pose network's output is refined by differentiable direct visual
  odometry on the scale-0 depth (Wang et al. 2018, DDVO: "PoseNet + DDVO"; see
  :func:`depthforge.geometry.direct.refine_pose`), so the photometric loss also reaches the depth
  through the Gauss-Newton step.
* ``geonet_flow: true``: GeoNet's residual flow stage (Yin & Shi 2018, Eq. 2–5): a
  :class:`~depthforge.models.resflow.ResFlowNet` refines the rigid flow of depth + pose in both
  directions, trained with the flow-warp, flow-smoothness and forward-backward consistency terms
  (weights 1, 0.2, 0.2) at scale 0. The rigid flows are detached, as GeoNet's flow stage freezes
  the depth and pose networks; GeoNet trains the two stages one after the other, here they are
  trained jointly in one step.

Choices and deviations:

* ``align_corners=True`` by default: monodepth2 ran on PyTorch 0.4.1, whose ``grid_sample`` behaves
  as ``align_corners=True`` with its ``u/(W−1)`` normalisation, so a pixel ``u`` samples source pixel
  ``u`` exactly. depthforge's warp normalises from integer pixel centres for either flag, so with
  the ``"border"`` padding monodepth2 uses both values give identical results; ``True`` is kept
  so that the choice reads as monodepth2's.
* Pixels that project outside the source are not masked (monodepth2 samples the border instead).
* The explainability mask comes from a small head owned by this strategy
  (:class:`ExplainabilityHead`, on the target/source pair), not from the pose decoder's up-convolution
  branch as in SfMLearner; its error term is the SSIM + L1 error above, not SfMLearner's pure L1.
* No colour augmentation here (monodepth2 feeds colour-jittered frames to the networks): add a
  photometric transform to the recipe's ``train_data.transforms`` if wanted.
* Images are resized for the pyramid (``upsample: false`` and the smoothness guide) by
  antialiased bilinear resizing, not PIL's ANTIALIAS as monodepth2's data loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.geometry.camera import scale_intrinsics
from depthforge.geometry.direct import refine_pose
from depthforge.geometry.se3 import pose_vec_to_matrix
from depthforge.geometry.warp import full_flow, reproject, rigid_flow, sample_image
from depthforge.losses.flow_consistency import geonet_flow_loss
from depthforge.losses.photometric import (
    SSIMTarget,
    explainability_regularizer,
    min_reprojection_loss,
    photometric_errors,
    ssim_target,
)
from depthforge.losses.smoothness import edge_aware_smoothness
from depthforge.models.base import DepthModel
from depthforge.models.posenet import PoseNet, PoseNetConfig
from depthforge.models.predict import resize
from depthforge.models.resflow import ResFlowNet, ResFlowNetConfig
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace

MONOCULAR_LOSSES = ("photometric",)
"""Loss names a monocular recipe may use (``loss.name``)."""
SMOOTHNESS_WEIGHT = 1e-3  # monodepth2 --disparity_smoothness
EXPLAINABILITY_WEIGHT = 0.2  # SfMLearner explain_reg_weight


def keep_channels_last(*networks: nn.Module) -> None:
    """Store the 4-D weights of ``networks`` channels-last, in place (the same values).

    The strategy feeds the depth and pose networks channels-last images; a convolution whose
    weight is in the default layout then converts it, in its forward and again in its backward,
    and the weight's gradient is copied back: at 96×320, batch 4, about 120 ms of a 1.7 s CPU
    step went to those copies. A network wrapped in ``DistributedDataParallel`` is left as built
    (its gradient buckets follow the layout it had when wrapped).
    """
    for network in networks:
        if network is not getattr(network, "module", network):
            continue
        if any(
            p.ndim == 4 and not p.is_contiguous(memory_format=torch.channels_last)
            for p in network.parameters()
        ):
            network.to(memory_format=torch.channels_last)


class ExplainabilityHead(nn.Module):
    """Per-pixel explainability logit of a (target, source) pair (SfMLearner §3.3, Eq. 3).

    A small encoder–decoder: two stride-2 3×3 conv + ReLU layers (6→16→32 channels), a 3×3 conv,
    bilinear upsampling to the input size, then a 3×3 conv to one logit. The last conv starts at
    zero, so every pixel starts at E = σ(0) = ½ rather than at a random weight.

    ``forward(target (N,3,H,W), source (N,3,H,W)) -> (N,1,H,W)`` logits.
    """

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Sequential(
            nn.Conv2d(6, 16, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.predict = nn.Conv2d(32, 1, 3, padding=1)
        nn.init.zeros_(self.predict.weight)
        nn.init.zeros_(self.predict.bias)

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        features = self.encode(torch.cat([target, source], dim=1) - 0.5)
        features = F.interpolate(
            features, size=target.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.predict(features)


class MonocularVideo(nn.Module):
    """monodepth2's monocular training loss (see the module docstring); owns the pose network.

    Args:
        frame_offsets: the temporal offset of each source in ``batch.neighbours`` (the dataset's
            ``neighbour_offsets``), e.g. ``(-1, 1)``; their signs fix the pose network's input
            order.
        upsample: compute every scale's loss at the input resolution (monodepth2) or at the
            scale's own (SfMLearner, monodepth2 ``--v1_multiscale``).
        automask: monodepth2 auto-masking (identity reprojection in the minimum).
        explainability: SfMLearner's explainability mask instead of the minimum and auto-masking.
        explainability_weight: weight of its regulariser per scale (SfMLearner: 0.2).
        reduce: ``"min"`` over sources (monodepth2) or ``"mean"`` (``--avg_reprojection``).
        smoothness_weight: 1e-3, divided by 2^scale.
        ssim_weight: α of the photometric error (0.85).
        align_corners: passed to the warp (see the module docstring).
        pose_encoder: ResNet of the pose network (``"resnet18"``).
        pose_encoder_weights: None, ``"imagenet"`` or a local file.
        ddvo_iterations: Gauss-Newton steps of the DDVO pose refinement (0 = off; DDVO: 10).
        ddvo_levels: pyramid levels of that refinement (DDVO fine-tuning: 1).
        geonet_flow: add GeoNet's residual-flow stage and its consistency losses.
        seed: seeds the tie-breaking noise of auto-masking.

    ``forward(model, batch) -> (loss, logs)``: ``model`` returns a record with ``disparities``
    (one map per scale, scale 0 first) and has ``to_depth`` (e.g.
    :class:`~depthforge.models.monodepth2.Monodepth2` with four sigmoid maps, or SfMLearner's and
    DDVO's networks, :class:`~depthforge.models.disparity.DisparityNet`, with four and five
    bounded disparities); ``batch`` carries ``image``, ``K`` and ``neighbours`` ``(B, S, 3, H, W)``.
    """

    def __init__(
        self,
        frame_offsets: Sequence[int] = (-1, 1),
        *,
        upsample: bool = True,
        automask: bool = True,
        explainability: bool = False,
        explainability_weight: float = EXPLAINABILITY_WEIGHT,
        reduce: str = "min",
        smoothness_weight: float = SMOOTHNESS_WEIGHT,
        ssim_weight: float = 0.85,
        align_corners: bool = True,
        pose_encoder: str = "resnet18",
        pose_encoder_weights: str | None = None,
        ddvo_iterations: int = 0,
        ddvo_levels: int = 1,
        geonet_flow: bool = False,
        seed: int = 0,
    ):
        super().__init__()
        self.frame_offsets = tuple(int(o) for o in frame_offsets)
        if not self.frame_offsets or 0 in self.frame_offsets:
            raise DepthforgeError(
                f"frame_offsets must be non-zero source offsets, got {self.frame_offsets}"
            )
        if reduce not in ("min", "mean"):
            raise DepthforgeError(f"reduce must be 'min' or 'mean', got {reduce!r}")
        self.upsample, self.automask, self.reduce = bool(upsample), bool(automask), reduce
        self.explainability_weight = float(explainability_weight)
        self.smoothness_weight, self.ssim_weight = float(smoothness_weight), float(ssim_weight)
        self.align_corners, self.seed = bool(align_corners), int(seed)
        # monodepth2 "separate_resnet" pose network on frame pairs.
        self.pose_net = PoseNet(
            PoseNetConfig(num_frames=2, encoder=pose_encoder, encoder_weights=pose_encoder_weights)
        )
        self.explainability_head = ExplainabilityHead() if explainability else None
        self.ddvo_iterations, self.ddvo_levels = int(ddvo_iterations), int(ddvo_levels)
        self.resflow = ResFlowNet(ResFlowNetConfig()) if geonet_flow else None
        self._generator: torch.Generator | None = None

    @property
    def extra_models(self) -> dict[str, DepthModel]:
        """Networks besides the depth model that a finished run saves (``out_dir/<name>``)."""
        models: dict[str, DepthModel] = {"pose_model": self.pose_net}
        if self.resflow is not None:
            models["resflow_model"] = self.resflow
        return models

    def relative_poses(
        self,
        target: torch.Tensor,
        sources: torch.Tensor,
        depth: torch.Tensor | None = None,
        K: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``T_{t→s}`` for each source: ``(B, S, 4, 4)`` taking target-camera points to source.

        monodepth2 ``predict_poses``: the pair is fed in temporal order — ``(I_s, I_t)`` for an
        earlier source, ``(I_t, I_s)`` for a later one — and the output of an earlier source is
        inverted (``transformation_from_parameters(..., invert=True)``). One pose-network call per
        source, as monodepth2 (batch-norm statistics then match it exactly in training mode).
        With ``ddvo_iterations > 0`` and the target ``depth`` and ``K`` given, each pose is then
        refined by direct visual odometry (DDVO).

        Args:
            target: ``(B, 3, H, W)``; sources: ``(B, S, 3, H, W)``, ordered as ``frame_offsets``.
            depth: ``(B, 1, H, W)`` target depth for the refinement; K: ``(B, 3, 3)``.
        """
        poses = []
        for index, offset in enumerate(self.frame_offsets):
            source = sources[:, index]
            pair = [source, target] if offset < 0 else [target, source]
            pair = torch.cat(pair, dim=1).contiguous(memory_format=torch.channels_last)
            vector = self.pose_net(pair)[:, 0]  # (B, 6)
            poses.append(pose_vec_to_matrix(vector, invert=offset < 0))
        poses = torch.stack(poses, dim=1)
        if self.ddvo_iterations and depth is not None and K is not None:
            b, s = poses.shape[:2]
            poses = refine_pose(
                target.repeat_interleave(s, dim=0),
                sources.flatten(0, 1),
                depth.repeat_interleave(s, dim=0),
                K.repeat_interleave(s, dim=0),
                poses.flatten(0, 1),
                iterations=self.ddvo_iterations,
                levels=self.ddvo_levels,
            ).unflatten(0, (b, s))
        return poses

    def _noise_generator(self, device: torch.device) -> torch.Generator:
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device=device).manual_seed(self.seed)
        return self._generator

    def _check_batch(self, batch: Batch) -> None:
        if batch.neighbours is None or batch.K is None:
            raise DepthforgeError(
                "monocular training needs video samples with neighbours and K "
                "(e.g. synth with neighbour_offsets: [-1, 1])"
            )
        if batch.neighbours.shape[1] != len(self.frame_offsets):
            raise DepthforgeError(
                f"batch has {batch.neighbours.shape[1]} source frames but frame_offsets "
                f"{self.frame_offsets} name {len(self.frame_offsets)}"
            )

    def forward(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        self._check_batch(batch)
        target, sources, K = batch.image, batch.neighbours, batch.K
        b, s = sources.shape[:2]
        height, width = target.shape[-2:]
        # Channels-last input and weights: the convolutions run in that layout (same values, a
        # faster step).
        keep_channels_last(model, self.pose_net)
        output = model(target.contiguous(memory_format=torch.channels_last))
        disparities = getattr(output, "disparities", None)
        if disparities is None:
            raise DepthforgeError(
                f"monocular training needs a model returning multi-scale disparities "
                f"(e.g. monodepth2_resnet18), got {type(output).__name__}"
            )
        to_depth = getattr(model, "module", model).to_depth
        depth0 = to_depth(resize(disparities[0], (height, width)))[1]
        poses = self.relative_poses(target, sources, depth0, K).flatten(0, 1)  # (B·S, 4, 4)
        flat_sources = sources.flatten(0, 1)  # (B·S, 3, H, W), batch-major
        # With upsampling every scale compares against the full-size target: its SSIM statistics
        # and the identity errors of the unwarped sources are computed once, not per scale.
        full_size = ssim_target(target) if self.upsample else None
        full_res_identity = None
        if full_size is not None and self.automask and self.explainability_head is None:
            full_res_identity = self._errors(sources, full_size)
        total, logs = target.new_zeros(()), {}
        for scale, disp in enumerate(disparities):
            size = (height, width) if self.upsample else tuple(disp.shape[-2:])
            target_s, sources_s = resize(target, size), resize(flat_sources, size)
            reference = full_size if full_size is not None else ssim_target(target_s)
            K_s = scale_intrinsics(K, size[1] / width, size[0] / height)
            depth = to_depth(resize(disp, size))[1]  # enlarging: plain bilinear
            uv, _ = reproject(
                depth.repeat_interleave(s, dim=0), K_s.repeat_interleave(s, dim=0), poses
            )
            warped = sample_image(
                sources_s, uv, align_corners=self.align_corners, padding_mode="border"
            )
            reprojection = self._errors(warped.unflatten(0, (b, s)), reference)
            if self.explainability_head is None:
                identity = full_res_identity
                if identity is None and self.automask:
                    identity = self._errors(sources_s.unflatten(0, (b, s)), reference)
                photometric, _, automask = min_reprojection_loss(
                    reprojection,
                    identity,
                    generator=self._noise_generator(target.device),
                    reduce=self.reduce,
                )
                if scale == 0:
                    logs["automask_fraction"] = float(automask.float().mean())
            else:
                photometric = self._explained_loss(reprojection, target_s, sources_s, b, s)
            guide = target_s if tuple(disp.shape[-2:]) == size else resize(target, disp.shape[-2:])
            smoothness = edge_aware_smoothness(disp, guide)
            total = total + photometric + self.smoothness_weight * smoothness / 2**scale
            if scale == 0:
                logs["photometric"] = float(photometric.detach())
                logs["smoothness"] = float(smoothness.detach())
        total = total / len(disparities)
        if self.resflow is not None:
            flow_terms = self._geonet_flow_terms(model, target, flat_sources, depth0, K, poses)
            total = total + flow_terms["loss"]
            logs["flow_consistency"] = float(flow_terms["flow_consistency"].detach())
        return total, logs

    def _geonet_flow_terms(
        self,
        model: nn.Module,
        target: torch.Tensor,
        flat_sources: torch.Tensor,
        depth_t: torch.Tensor,
        K: torch.Tensor,
        poses: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """GeoNet's flow stage at scale 0 (Eq. 2–5): residual flows on the detached rigid flows
        of both directions and :func:`~depthforge.losses.flow_consistency.geonet_flow_loss`."""
        s = len(self.frame_offsets)
        height, width = target.shape[-2:]
        to_depth = getattr(model, "module", model).to_depth
        with torch.no_grad():  # the flow stage does not train depth or pose (GeoNet §3.3)
            depth_s = to_depth(resize(model(flat_sources).disparities[0], (height, width)))[1]
            targets, K_rep = target.repeat_interleave(s, dim=0), K.repeat_interleave(s, dim=0)
            rigid_fwd = rigid_flow(depth_t.detach().repeat_interleave(s, dim=0), K_rep, poses)
            rigid_bwd = rigid_flow(depth_s, K_rep, torch.linalg.inv(poses.detach()))
        forward = full_flow(rigid_fwd, self.resflow(targets, flat_sources, rigid_fwd))
        backward = full_flow(rigid_bwd, self.resflow(flat_sources, targets, rigid_bwd))
        return geonet_flow_loss(targets, flat_sources, forward, backward)

    def _errors(self, images: torch.Tensor, target: SSIMTarget) -> torch.Tensor:
        """``(B, S, H, W)`` photometric error of ``(B, S, 3, H, W)`` images against the target."""
        return photometric_errors(images, target, alpha=self.ssim_weight)

    def _explained_loss(
        self,
        reprojection: torch.Tensor,
        target: torch.Tensor,
        sources: torch.Tensor,
        b: int,
        s: int,
    ) -> torch.Tensor:
        """SfMLearner Eq. 3: ``mean(Ê · pe) + λ_e · L_reg(Ê)`` with ``Ê = σ(logits)``; the error
        is averaged over sources (SfMLearner sums them: a constant factor S)."""
        logits = self.explainability_head(target.repeat_interleave(s, dim=0), sources)
        logits = logits.reshape(b, s, *logits.shape[-2:])
        weighted = (torch.sigmoid(logits) * reprojection).mean()
        return weighted + self.explainability_weight * explainability_regularizer(logits)


@register_strategy(
    "monocular", losses=MONOCULAR_LOSSES, output_spaces=(OutputSpace.SCALE_INVARIANT_DEPTH,)
)
def build_monocular(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> MonocularVideo:
    """Builder of the ``monocular`` strategy: ``loss: {name: photometric, kwargs: {...}}`` with
    the keyword arguments of :class:`MonocularVideo`."""
    try:
        return MonocularVideo(**loss_kwargs)
    except TypeError as exc:
        raise DepthforgeError(f"monocular loss kwargs: {exc}") from exc
