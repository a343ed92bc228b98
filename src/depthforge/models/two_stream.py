"""Li, Klein & Yao 2017 (ICCV), "A Two-Streamed Network for Estimating Fine-Scaled Depth Maps from
Single RGB Images": a depth stream and a depth-gradient stream fused into one depth map.

What is implemented (the paper's exact layers were not verified here, and no official code is
known: the whole description is as recalled from the paper): two streams of the same design (a ResNet encoder + the FCRN
up-projection decoder of :mod:`depthforge.models.fcrn`), one predicting depth D̂ (1 channel, ReLU)
and one predicting its forward differences ``(Gx, Gy)`` (2 channels, linear, metres per output
pixel, convention of :func:`depthforge.geometry.fusion.forward_diff`). Fusion, by config:

* ``"solver"``: the paper's optimisation ``argmin Σ(D − D̂)² + α Σ[(∇xD − Gx)² + (∇yD − Gy)²]``
  with the quadratic penalty, solved exactly by the DCT (:class:`DepthGradientFusion`),
  differentiable, so the streams can be trained through it;
* ``"learned"``: a fusion block — 3×3 convs on the concatenated ``[D̂, Gx, Gy]`` predicting a
  residual correction of D̂ (our design of the paper's learned alternative; unverified).

The robust (Charbonnier) fusion of :func:`fuse_depth_gradients_robust` is available as a
post-process. ONNX export of the solver fusion uses the matrix DCT and has a fixed height/width
(the DCT sizes are traced as constants); the learned fusion exports fully dynamic. Sizes: input ``(B, 3, 228, 304)`` → output ``(B, 1, 128, 160)`` metric depth;
fully convolutional.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from depthforge.geometry.fusion import DepthGradientFusion
from depthforge.models.backbones import ImageNetNormalize, ResNetEncoder
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.upprojection import UpProjection
from depthforge.types import OutputSpace, ResizeSpace


@dataclasses.dataclass(frozen=True)
class TwoStreamConfig(ModelConfig):
    """Attributes (besides ``input_size``/``resize``):
    encoder: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``; encoder_weights as in FCRN.
    fusion: ``"solver"`` (exact quadratic fusion) or ``"learned"`` (fusion block).
    alpha: gradient weight of the solver fusion.
    """

    input_size: tuple[int, int] = (228, 304)
    encoder: str = "resnet18"
    encoder_weights: str | None = None
    fusion: str = "solver"
    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fusion not in ("solver", "learned"):
            raise ValueError(f"fusion must be 'solver' or 'learned', got {self.fusion!r}")


@dataclasses.dataclass
class StreamOutputs:
    """The two streams' raw predictions, each ``(B, 1, h, w)``: depth (metres) and gradients."""

    depth: torch.Tensor
    grad_x: torch.Tensor
    grad_y: torch.Tensor


class Stream(nn.Module):
    """ResNet encoder + 1×1 bottleneck + four up-projections + 3×3 head to ``out_channels``."""

    def __init__(self, encoder: str, weights: str | None, out_channels: int, final_relu: bool):
        super().__init__()
        self.encoder = ResNetEncoder(encoder, weights)
        c = self.encoder.out_channels // 2
        self.decoder = nn.Sequential(
            nn.Conv2d(self.encoder.out_channels, c, kernel_size=1),
            nn.BatchNorm2d(c, eps=1e-4),
            *(UpProjection(c >> i, c >> (i + 1)) for i in range(4)),
            nn.Conv2d(c >> 4, out_channels, kernel_size=3, padding=1),
            nn.ReLU() if final_relu else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class LearnedFusion(nn.Module):
    """Fusion block: ``D̂ + convs([D̂, Gx, Gy])`` (3×3 convs 3→32→32→1)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, 1, 3, padding=1),
        )  # fmt: skip

    def forward(self, depth: torch.Tensor, grad_x: torch.Tensor, grad_y: torch.Tensor):
        return depth + self.net(torch.cat([depth, grad_x, grad_y], dim=1))


class TwoStream(DepthModel):
    """``forward(images (B,3,H,W) in [0,1]) -> (B,1,h,w)`` fused metric depth;
    :meth:`streams` gives the two streams' outputs for their separate losses."""

    config_class = TwoStreamConfig
    output_space = OutputSpace.METRIC_DEPTH
    resize_space = ResizeSpace.DEPTH

    def __init__(self, config: TwoStreamConfig | None = None):
        super().__init__(config or TwoStreamConfig())
        cfg = self.config
        self.normalize = ImageNetNormalize()
        self.depth_stream = Stream(cfg.encoder, cfg.encoder_weights, 1, final_relu=True)
        self.gradient_stream = Stream(cfg.encoder, cfg.encoder_weights, 2, final_relu=False)
        self.fusion = DepthGradientFusion(cfg.alpha) if cfg.fusion == "solver" else LearnedFusion()

    @property
    def onnx_dynamic_size(self) -> bool:
        """The solver's DCT matrices are traced at the export size, so only the learned fusion
        exports with dynamic height/width."""
        return self.config.fusion == "learned"

    def streams(self, images: torch.Tensor) -> StreamOutputs:
        """Both streams' predictions for ``(B, 3, H, W)`` images in ``[0, 1]``."""
        x = self.normalize(images)
        grads = self.gradient_stream(x)
        return StreamOutputs(self.depth_stream(x), grads[:, :1], grads[:, 1:])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        s = self.streams(images)
        return self.fusion(s.depth, s.grad_x, s.grad_y)
