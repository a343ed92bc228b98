"""Adversarial domain adaptation of a depth network: Kundu, Uppala, Pahuja & Babu 2018,
"AdaDepth: Unsupervised Content Congruent Adaptation for Depth Estimation" (CVPR).

A batch holds labelled *source* samples (synthetic) and unlabelled *target* images ("real"),
paired by :class:`depthforge.data.domain_pairs.DomainPairs` (``meta["target_image"]``). Both go
through the model in one forward pass; the output of its feature module (``feature_module``,
the encoder by default) is captured. The loss is

    L = L_sup(source)  +  λ_adv · L_D(D(GRL(f)))  +  λ_c · L_content(target)

* ``L_sup``: a supervised depth loss of :func:`~depthforge.train.strategies.supervised_losses`
  on the source half (the paper trains its source model supervised, then adapts);
* ``L_D``: the domain discriminator's binary cross-entropy on the encoder features of both
  halves (source = 1, target = 0), averaged over the discriminator's patch logits. AdaDepth
  aligns the *latent features* of the fully-convolutional encoder adversarially (GAN objective,
  discriminator vs. encoder); the discriminator here is a small patch classifier on the feature
  map [architecture a choice made here];
* ``L_content``: content congruence, implemented as the mean squared difference between the
  adapted features of the target images and those of a frozen copy of the feature module taken
  at the first step (the source-trained encoder when the recipe starts from one): adaptation
  may change how target images are encoded only as far as the adversarial term pays for it,
  which guards against mode collapse — features that fool the discriminator but forget the
  image's content. AdaDepth's content-congruent regularisation constrains the adapted target
  representation to keep the content of the input; the exact form of their term (feature
  reconstruction) is recalled, not verified, and this identity-to-source form is the one
  implemented.

**The adversarial game in one optimiser step.** The trainer takes one step per batch, so the
min-max is played with a gradient-reversal layer (Ganin & Lempitsky 2015, "Unsupervised Domain
Adaptation by Backpropagation", ICML): ``GRL`` is the identity forward and multiplies the
gradient by −1 backward. The discriminator's parameters descend ``L_D`` (it learns to tell the
domains apart) while the encoder's descend ``−L_D`` (it learns to confuse it), in the same
step. Deviations from AdaDepth: (1) their updates alternate between discriminator and encoder
with the inverted-label GAN loss, whose gradient differs from the reversed minimax gradient
(stronger when the discriminator is confident); (2) they adapt a separate target encoder from
a frozen source network with the decoder frozen, while here one network keeps training on the
source labels while it adapts (as in Ganin & Lempitsky), the frozen copy serving only the
content term; (3) only the features are discriminated, not the output depth maps.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.models.base import depth_output
from depthforge.train.strategies.common import convert_prediction, target_at
from depthforge.train.strategies.registry import register_strategy
from depthforge.train.strategies.supervised import supervised_losses
from depthforge.types import OutputSpace

ADADEPTH_LOSSES = ("adadepth",)
"""Loss names an AdaDepth recipe may use (``loss.name``)."""


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward, gradient multiplied by ``−scale`` backward (Ganin & Lempitsky 2015,
    Eq. 9–10: the gradient-reversal layer)."""
    return _ReverseGradient.apply(x, scale)


class DomainDiscriminator(nn.Module):
    """Patch classifier of feature maps: ``(B, C, h, w)`` → ``(B, 1, h', w')`` logits,
    positive = source domain.

    Three convolutions (3×3, 3×3 stride 2, 1×1) with LeakyReLU(0.2), the usual patch-GAN
    pattern; it never sees the image, only the features.
    """

    def __init__(self, in_channels: int, width: int = 64) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, width, kernel_size=3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, kernel_size=3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, kernel_size=1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)


def domain_loss(logits: torch.Tensor, is_source: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of patch logits ``(N, 1, h, w)`` against the domain of each row
    ``is_source`` ``(N,)`` bool (the discriminator's GAN objective, Goodfellow et al. 2014,
    Eq. 1 with the discriminator maximising its log-likelihood), averaged over patches."""
    labels = is_source.to(logits.dtype).reshape(-1, 1, 1, 1).expand_as(logits)
    return F.binary_cross_entropy_with_logits(logits, labels)


class AdaDepth(nn.Module):
    """AdaDepth-style adaptation (module docstring): supervised source loss, adversarial
    feature alignment through a gradient-reversal layer, content congruence on the target.

    Args:
        output_space: what the model outputs.
        feature_channels: channels of the feature module's output (512 for a ResNet-18/34
            encoder, 2048 for ResNet-50).
        feature_module: name of the model's submodule whose output is aligned (``"encoder"``).
        supervised_loss: a name of :func:`supervised_losses`; ``supervised_kwargs`` its
            keyword arguments.
        adversarial_weight: ``λ_adv``; content_weight: ``λ_c``.
        discriminator_width: channels of the discriminator's hidden layers.

    The discriminator's parameters are trained, checkpointed and resumed with the model's; the
    frozen reference of the content term travels in the state dict too (``extra_state``).
    """

    def __init__(
        self,
        output_space: OutputSpace,
        *,
        feature_channels: int,
        feature_module: str = "encoder",
        supervised_loss: str = "scale_invariant",
        supervised_kwargs: dict[str, Any] | None = None,
        adversarial_weight: float = 0.1,
        content_weight: float = 1.0,
        discriminator_width: int = 64,
    ) -> None:
        super().__init__()
        table = supervised_losses()
        if supervised_loss not in table:
            raise DepthforgeError(
                f"unknown supervised loss {supervised_loss!r}; known: {', '.join(sorted(table))}"
            )
        if adversarial_weight < 0 or content_weight < 0:
            raise DepthforgeError(
                f"weights must be ≥ 0, got adversarial {adversarial_weight}, "
                f"content {content_weight}"
            )
        self.output_space, self.feature_module = output_space, feature_module
        self.supervised, self.supervised_kwargs = table[supervised_loss], supervised_kwargs or {}
        self.adversarial_weight, self.content_weight = adversarial_weight, content_weight
        self.feature_channels = feature_channels
        self.discriminator = DomainDiscriminator(feature_channels, discriminator_width)
        # Kept out of the module tree: never trained nor moved by the trainer (its mode follows
        # the feature module's, see content_loss); checkpointed through get_extra_state.
        self._reference: list[nn.Module] = []
        self._pending_reference: dict[str, torch.Tensor] | None = None

    def reference_features(self, model: nn.Module) -> nn.Module:
        """The frozen copy of ``model``'s feature module (taken at the first call, or restored
        from a checkpoint)."""
        if not self._reference:
            frozen = copy.deepcopy(self.features_of(model)).eval().requires_grad_(False)
            if self._pending_reference is not None:
                frozen.load_state_dict(self._pending_reference)
                self._pending_reference = None
            self._reference.append(frozen)
        return self._reference[0]

    def features_of(self, model: nn.Module) -> nn.Module:
        """``model``'s submodule named ``feature_module`` (a clear error when it has none)."""
        bare = getattr(model, "module", model)  # DistributedDataParallel
        try:
            return bare.get_submodule(self.feature_module)
        except AttributeError as exc:
            raise DepthforgeError(
                f"model {type(bare).__name__} has no submodule {self.feature_module!r} to "
                "align (set loss.kwargs.feature_module)"
            ) from exc

    def get_extra_state(self) -> dict[str, Any]:
        """The frozen reference's weights (``None`` before the first step), for checkpoints."""
        reference = self._reference[0].state_dict() if self._reference else None
        return {"reference": reference or self._pending_reference}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self._reference, self._pending_reference = [], state.get("reference")

    def forward_with_features(
        self, model: nn.Module, images: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One forward pass: ``(depth output, features, the feature module's input)``."""
        captured: dict[str, torch.Tensor] = {}

        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            captured["input"], captured["features"] = args[0], output

        handle = self.features_of(model).register_forward_hook(hook)
        try:
            pred = depth_output(model(images))
        finally:
            handle.remove()
        features = captured["features"]
        if not isinstance(features, torch.Tensor) or features.shape[1] != self.feature_channels:
            raise DepthforgeError(
                f"feature module {self.feature_module!r} gives "
                f"{getattr(features, 'shape', type(features))}, expected "
                f"{self.feature_channels} channels (loss.kwargs.feature_channels)"
            )
        return pred, features, captured["input"]

    def content_loss(
        self, model: nn.Module, features: torch.Tensor, inputs: torch.Tensor, first: int
    ) -> torch.Tensor:
        """Mean squared difference between ``features[first:]`` and the frozen reference's
        features of the same feature-module ``inputs[first:]``: 0 while the feature module is
        unchanged.

        The reference runs on the whole batch in the feature module's mode, so batch
        normalisation sees the same statistics in both (train mode normalises by the batch).
        """
        reference = self.reference_features(model)
        reference.train(self.features_of(model).training)
        with torch.no_grad():
            expected = reference(inputs)[first:]
        return F.mse_loss(features[first:].float(), expected.float())

    def forward(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        if not batch.meta or any("target_image" not in m for m in batch.meta):
            raise DepthforgeError(
                "the adadepth strategy needs samples with meta['target_image'] "
                "(train_data.dataset: domain_pairs)"
            )
        source = batch.image
        target = torch.stack([m["target_image"] for m in batch.meta]).to(source)
        n = source.shape[0]
        self.reference_features(model)  # taken before this step changes anything
        pred, features, inputs = self.forward_with_features(model, torch.cat([source, target]))

        pred = pred[:n]
        gt, mask = target_at(batch.depth, batch.mask, tuple(pred.shape[-2:]))
        pred = convert_prediction(pred, self.output_space, self.supervised.pred_space)
        supervised = self.supervised.fn(pred, gt, mask, **self.supervised_kwargs)

        is_source = torch.arange(2 * n, device=source.device) < n
        logits = self.discriminator(reverse_gradient(features.float()))
        adversarial = domain_loss(logits, is_source)
        content = self.content_loss(model, features, inputs, n)

        loss = supervised + self.adversarial_weight * adversarial + self.content_weight * content
        with torch.no_grad():
            accuracy = ((logits.mean(dim=(1, 2, 3)) > 0) == is_source).float().mean()
        logs = {
            "supervised": float(supervised.detach()),
            "domain_bce": float(adversarial.detach()),
            "domain_accuracy": float(accuracy),
            "content": float(content.detach()),
        }
        return loss, logs


@register_strategy("adadepth", losses=ADADEPTH_LOSSES)
def build_adadepth(
    loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> AdaDepth:
    """The AdaDepth strategy (``strategy: adadepth``, ``loss.name: adadepth``)."""
    if "feature_channels" not in loss_kwargs:
        raise DepthforgeError(
            "strategy adadepth needs loss.kwargs.feature_channels (the channels of the aligned "
            "features, e.g. 512 for a ResNet-18 encoder)"
        )
    return AdaDepth(output_space, **loss_kwargs)
