"""What every depthforge model shares: a frozen config record, a declared output space, and the
model-output contract (:func:`depth_output`)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from depthforge.types import OutputSpace, ResizeSpace

RESIZE_POLICIES = ("stretch", "keep_aspect")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Base of every model config. Frozen, JSON-serialisable (tuples become lists on disk).

    Attributes:
        input_size: ``(H, W)`` the network is run at (paper resolution) by ``predict``.
        resize: how ``predict`` brings an image to ``input_size``: ``"stretch"`` (resize both
            axes independently) or ``"keep_aspect"`` (uniform scale to fit, edge-pad bottom/right,
            crop the prediction back).
    """

    input_size: tuple[int, int] = (228, 304)
    resize: str = "stretch"

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise ValueError(f"resize must be one of {RESIZE_POLICIES}, got {self.resize!r}")
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            raise ValueError(f"input_size must be (H, W) positive, got {self.input_size}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict` (lists become tuples; unknown keys raise TypeError)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class DepthModel(nn.Module):
    """Base class of the models: holds ``config`` and declares class-level facts.

    Class attributes:
        config_class: the config dataclass that :func:`depthforge.models.load_model` rebuilds.
        output_space: what the depth output means (:class:`~depthforge.types.OutputSpace`), or
            ``None`` for a model that predicts no depth (the pose network).
        resize_space: the space in which :func:`~depthforge.models.predict.predict` resizes the
            network's output to the image size (:class:`~depthforge.types.ResizeSpace`): the
            space the network regresses, as its authors' evaluation resizes it — ``disparity``
            for monodepth2-style disparity decoders, ``log_depth`` for log-depth regressors
            (Eigen et al.), ``depth`` for metric depth (FCRN; the default).
        fixed_input_size: True when fully connected layers tie the model to ``config.input_size``
            (ONNX export then has a dynamic batch only).
        takes_sparse: True when ``forward(image, sparse)`` also takes sparse depth (completion).
    """

    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    output_space: ClassVar[OutputSpace | None] = None
    resize_space: ClassVar[ResizeSpace] = ResizeSpace.DEPTH
    fixed_input_size: ClassVar[bool] = False
    takes_sparse: ClassVar[bool] = False

    def __init__(self, config: ModelConfig):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, "
                f"got {type(config).__name__}"
            )
        self.config = config

    @property
    def onnx_dynamic_size(self) -> bool:
        """Whether an ONNX export can keep height and width dynamic (batch always is)."""
        return not self.fixed_input_size

    def forward_depth(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The depth output alone, ``(B, 1, h, w)`` in ``output_space``, for ``forward(*inputs)``.

        Models with several heads override it to compute only the depth head (inference and
        ONNX export need nothing else); the default takes the ``depth`` field of a record.
        """
        return depth_output(self(*inputs))


def depth_output(output: object) -> torch.Tensor:
    """The depth tensor of a model's output (a tensor, or a record with a ``depth`` field)."""
    depth = output if isinstance(output, torch.Tensor) else getattr(output, "depth", None)
    if not isinstance(depth, torch.Tensor):
        raise TypeError(f"model output {type(output).__name__} carries no depth tensor")
    return depth
