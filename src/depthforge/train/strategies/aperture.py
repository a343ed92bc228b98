"""Aperture supervision: Srinivasan, Garg, Wadhwa, Ng & Barron 2018, "Aperture Supervision for
Monocular Depth Estimation" (CVPR).

The network predicts depth from the all-in-focus image; a differentiable renderer turns image
and predicted depth into the shallow depth-of-field image the training pair's lens would take;
the loss compares that rendering with the real shallow-DoF photo. No depth ground truth enters
the loss: only the pair of photos and the lens (focus distance, f-number, focal length, sensor
width), which a camera records.

    L = mean |R(I, z; lens) − I_lens|  +  λ_tv · TV(1/z)

* ``R``: :func:`depthforge.render.dof.render_dof_soft`, the layered thin-lens renderer with soft
  assignment of pixels to fixed CoC layers — the same compositing as the applications'
  :func:`~depthforge.render.dof.render_dof`, and the paper's "compositional aperture rendering"
  (a stack of images blurred with fixed per-plane kernels, combined with per-pixel soft weights
  over depth planes);
* the image term is the L1 norm of the difference (the paper's loss, recalled, not verified
  against its text: L1 on the rendered vs. the real shallow-DoF image);
* ``TV(1/z)``: mean absolute forward differences of the inverse depth (the paper regularises
  the predicted depths with total variation [recalled, not verified]; which map and which
  weight are choices made here).

Deviations from the paper:

* the paper's network outputs a probability distribution over a fixed set of depth planes and
  feeds those probabilities to the compositing directly; here any depthforge depth model is
  trained, and its per-pixel depth becomes soft plane weights through
  ``softmax(−(c − c_l)²/(2·softness²))`` of its signed CoC ``c`` (``render_dof_soft``);
* the planes span the CoC of a fixed depth range ``depth_range`` (not the scene's, which would
  leak ground truth), so predictions outside it saturate at the extreme planes; predictions
  are clamped (straight-through) at ``depth_range[0]`` so a network starting near 0 still gets
  gradients;
* the paper's "light field aperture rendering" alternative is not implemented.

Because the lens is known, the blur fixes metric inverse depth ``|1/z − 1/z_f|``: the trained
model predicts metric depth, validated without alignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.models.base import depth_output
from depthforge.render.dof import APERTURES, render_dof_soft
from depthforge.render.lens import signed_coc_px
from depthforge.train.strategies.common import (
    convert_prediction,
    inverse_depth_smoothness,
    prediction_at_image_size,
    straight_through_clamp,
)
from depthforge.train.strategies.registry import register_strategy
from depthforge.types import OutputSpace

APERTURE_LOSSES = ("aperture_l1",)
"""Loss names an aperture recipe may use (``loss.name``)."""


def render_for_lens(
    image: torch.Tensor,
    depth: torch.Tensor,
    lens: dict[str, float],
    *,
    depth_range: tuple[float, float],
    layers: int,
    softness: float,
    aperture: str = "disc",
) -> torch.Tensor:
    """Differentiable shallow-DoF rendering of one view for its lens.

    The ``layers`` planes are evenly spaced in signed CoC between the CoC of
    ``depth_range[0]`` and ``depth_range[1]`` metres for this lens (fixed: they never depend on
    the predicted depth).

    Args:
        image: ``(1, 3, H, W)`` all-in-focus sRGB in [0, 1].
        depth: ``(1, 1, H, W)`` metres, > 0.
        lens: ``focus_m``, ``f_number``, ``focal_mm``, ``sensor_width_mm``.

    Returns:
        ``(1, 3, H, W)`` sRGB in [0, 1], differentiable w.r.t. ``depth`` and ``image``.
    """
    near_far = torch.tensor(depth_range, dtype=torch.float64)
    coc_range = signed_coc_px(near_far, image_width_px=image.shape[-1], **lens)
    return render_dof_soft(
        image,
        depth,
        coc_range=(float(coc_range[0]), float(coc_range[1])),
        layers=layers,
        softness=softness,
        aperture=aperture,
        **lens,
    )


def dof_targets(batch: Batch) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """The batch's shallow-DoF images ``(B, 3, H, W)`` and lenses, from ``meta`` (see
    :class:`depthforge.render.aperture_pairs.AperturePairs`)."""
    if not batch.meta or any("dof_target" not in m or "lens" not in m for m in batch.meta):
        raise DepthforgeError(
            "the aperture strategy needs samples with meta['dof_target'] and meta['lens'] "
            "(train_data.dataset: aperture_pairs)"
        )
    targets = torch.stack([m["dof_target"] for m in batch.meta]).to(batch.image.device)
    return targets, [dict(m["lens"]) for m in batch.meta]


@dataclass
class ApertureSupervision:
    """Srinivasan et al. 2018: L1 between the rendered and the real shallow-DoF image, plus
    ``smoothness_weight`` · TV of the inverse depth (module docstring).

    Args:
        output_space: what the model outputs (metric or log depth).
        depth_range: ``(near, far)`` metres spanned by the rendering planes.
        layers: number of rendering planes.
        softness: width of the soft plane assignment, pixels of CoC diameter.
        smoothness_weight: ``λ_tv``.
        aperture: ``"disc"`` or ``"hexagon"``; must match the camera of the pairs.
    """

    output_space: OutputSpace
    depth_range: tuple[float, float] = (0.5, 12.0)
    layers: int = 16
    softness: float = 0.5
    smoothness_weight: float = 0.01
    aperture: str = "disc"

    def __post_init__(self) -> None:
        near, far = (float(d) for d in self.depth_range)
        if not 0 < near < far:
            raise DepthforgeError(f"depth_range must be 0 < near < far metres, got {near}, {far}")
        if self.aperture not in APERTURES:
            raise DepthforgeError(f"aperture must be one of {APERTURES}, got {self.aperture!r}")
        self.depth_range = (near, far)

    def render(
        self, image: torch.Tensor, depth: torch.Tensor, lenses: list[dict[str, float]]
    ) -> torch.Tensor:
        """``(B, 3, H, W)`` renderings of ``image`` with metric ``depth`` ``(B, 1, H, W)``,
        one lens per view (each view has its own planes, so views render one at a time)."""
        with torch.autocast(image.device.type, enabled=False):
            return torch.cat(
                [
                    render_for_lens(
                        image[i : i + 1].float(),
                        depth[i : i + 1].float(),
                        lens,
                        depth_range=self.depth_range,
                        layers=self.layers,
                        softness=self.softness,
                        aperture=self.aperture,
                    )
                    for i, lens in enumerate(lenses)
                ]
            )

    def loss(
        self,
        image: torch.Tensor,
        depth: torch.Tensor,
        targets: torch.Tensor,
        lenses: list[dict[str, float]],
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The aperture loss of metric ``depth`` ``(B, 1, H, W)`` for ``image`` and
        ``targets`` ``(B, 3, H, W)``; returns the loss and its two terms."""
        depth = straight_through_clamp(depth, self.depth_range[0])
        photometric = (self.render(image, depth, lenses) - targets).abs().mean()
        smoothness = inverse_depth_smoothness(1.0 / depth)
        loss = photometric + self.smoothness_weight * smoothness
        return loss, {"l1": float(photometric.detach()), "tv": float(smoothness.detach())}

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]:
        targets, lenses = dof_targets(batch)
        pred = depth_output(model(batch.image))
        pred = prediction_at_image_size(pred, tuple(batch.image.shape[-2:]))
        depth = convert_prediction(pred.float(), self.output_space, OutputSpace.METRIC_DEPTH)
        return self.loss(batch.image, depth, targets, lenses)


@register_strategy("aperture", losses=APERTURE_LOSSES)
def build_aperture(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> ApertureSupervision:
    """The aperture strategy (``strategy: aperture``, ``loss.name: aperture_l1``)."""
    kwargs = dict(loss_kwargs)
    if "depth_range" in kwargs:
        kwargs["depth_range"] = tuple(kwargs["depth_range"])
    return ApertureSupervision(output_space, **kwargs)
