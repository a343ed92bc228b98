"""A depth model made ready for inference: the same function, fewer and faster operations.

:func:`prepare_for_inference` returns a copy of a model in eval mode, without gradients, with

1. every BatchNorm that takes a convolution's output (and nothing else does) folded into that
   convolution: in eval mode BN is the affine map ``y = γ (x − μ) / √(σ² + ε) + β`` per channel,
   so ``conv(x; W, b)`` followed by it is ``conv(x; W·s, (b − μ)·s + β)`` with
   ``s = γ / √(σ² + ε)`` (Ioffe & Szegedy 2015, Algorithm 2, step 11), and the BN becomes the
   identity. ONNX export folds the same pairs (its eval-mode peephole pass), so eager and ONNX
   run the same arithmetic;
2. every ``nn.ELU`` with ``α = 1`` replaced by :class:`ExpELU` (``exp`` instead of ``expm1``:
   PyTorch's CPU ``expm1`` is not vectorised and made ELU 10× slower than ``exp``; the two agree
   to 2.4e-7 absolute);
3. the weights of the convolutions and transposed convolutions in ``channels_last`` memory
   format: the input is converted once (:func:`to_inference_layout`) and every convolution,
   pooling and elementwise op then runs on NHWC data, for which oneDNN needs no reordering
   around each convolution and max pooling has a vectorised kernel
   (``benchmarks/inference_vs_onnxruntime.py``); a transposed convolution with NCHW weights
   copied them at every call (SfMLearner's 512 → 512 at 1×4: 4.0 against 2.1 ms of CPU time,
   ``benchmarks/layout_speed.py``). Where maps are combined, :mod:`depthforge.models.layout`
   keeps this order;
4. on the CPU, every stride-1 1×1 convolution given a dilation of 2, which leaves a 1×1
   kernel's arithmetic unchanged (``y = W x + b`` per pixel, same output size): PyTorch sends
   1×1 convolutions of fewer than 16 images on one thread to its own GEMM path, which copies
   channels_last input to NCHW and back; a dilated convolution goes to oneDNN. At batch 1 on
   one thread this took ``diw_hourglass`` from 1071 to 1019 ms and ``fcrn_resnet50`` from 456
   to 441 ms (``benchmarks/inference_vs_onnxruntime.py``, before and after,
   ``benchmarks/RESULTS.md``). A model on a GPU keeps its 1×1 convolutions as they are (not
   measured there);
5. every submodule with a ``precompute()`` method asked, after the folding, to compute what
   depends on its weights alone once (Sparse-to-Dense's up-projection concatenated its 5×5
   kernels and built their phase kernels at every forward: ResNet-50 at batch 1 on one thread
   went from 944 to 572 ms, ``benchmarks/RESULTS.md``);
6. on the CPU, every 3×3 stride-1 convolution with channels enough
   (:func:`~depthforge.models.winograd.prefers_winograd`) replaced by
   :class:`~depthforge.models.winograd.WinogradConv2d`, Winograd's F(2×2, 3×3): 2.25× fewer
   multiplies, the same convolution to float rounding (``benchmarks/winograd_speed.py``); a
   call with fewer than :data:`~depthforge.models.winograd.MIN_TILES` output tiles, counted
   over the batch, runs the direct convolution.

Which convolution feeds which BatchNorm is found by running the model once at
``config.input_size`` with hooks on its convolutions and BatchNorms and a
``TorchFunctionMode`` that sees every torch function: a pair is folded when the BN's input is
the very tensor a convolution returned, both run once, and no function outside the BN reads that
tensor's values. The outputs stay
equal to the unprepared model's to float rounding (tested on every registered depth model).

:func:`inference_model` caches the prepared copy on the model and prepares again when a weight
or buffer changes (training between two calls of ``predict``).
"""

from __future__ import annotations

import copy
import weakref
from collections import Counter

import torch
from torch import nn
from torch.overrides import TorchFunctionMode, resolve_name

from depthforge.models.base import DepthModel
from depthforge.models.winograd import WinogradConv2d, prefers_winograd

METADATA_QUERIES = frozenset(
    ["dim", "size", "shape", "ndim", "numel", "__len__", "dtype", "device", "stride", "layout"]
    + ["is_contiguous", "requires_grad", "is_floating_point", "data_ptr", "__hash__"]
)
"""Tensor functions that read no values: not a use of a convolution's output."""


def tensors_in(value: object) -> list[torch.Tensor]:
    """The tensors inside nested tuples, lists and dict values."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, tuple | list):
        return [t for item in value for t in tensors_in(item)]
    return []


class UseCounter(TorchFunctionMode):
    """Counts, per watched tensor id, the torch functions that read its values, except inside a
    BatchNorm module's own forward (``inside_bn`` > 0)."""

    def __init__(self, watched: dict[int, nn.Module]):
        super().__init__()
        self.watched = watched
        self.uses: Counter[int] = Counter()
        self.inside_bn = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = resolve_name(func) or getattr(func, "__name__", "")
        if not self.inside_bn and not METADATA_QUERIES.intersection(name.split(".")):
            for arg in tensors_in((args, kwargs)):
                if id(arg) in self.watched:
                    self.uses[id(arg)] += 1
        return func(*args, **kwargs)


def conv_bn_pairs(model: DepthModel, *example: torch.Tensor) -> list[tuple[str, str]]:
    """Names of the ``(Conv2d, BatchNorm2d)`` pairs where the BN takes a convolution's output and
    nothing else reads it (module docstring), found by one forward of the ``example`` inputs
    with module hooks and a :class:`UseCounter`."""
    names = {module: name for name, module in model.named_modules()}
    produced: dict[int, nn.Module] = {}
    calls: Counter[nn.Module] = Counter()
    feeds: list[tuple[nn.Module, nn.Module, int]] = []
    alive: list[torch.Tensor] = []  # keeps every recorded tensor alive so ids stay unique
    counter = UseCounter(produced)

    def before(module: nn.Module, args: tuple) -> None:
        calls[module] += 1
        if isinstance(module, nn.BatchNorm2d):
            counter.inside_bn += 1
            if id(args[0]) in produced:
                feeds.append((produced[id(args[0])], module, id(args[0])))

    def after(module: nn.Module, args: tuple, output: object) -> None:
        if isinstance(module, nn.BatchNorm2d):
            counter.inside_bn -= 1
        elif isinstance(output, torch.Tensor):  # a convolution
            produced[id(output)] = module
            alive.append(output)

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.BatchNorm2d):
            hooks += [module.register_forward_pre_hook(before)]
            hooks += [module.register_forward_hook(after)]
    try:
        with torch.no_grad(), counter:
            model.forward_depth(*example)
    finally:
        for hook in hooks:
            hook.remove()
    return [
        (names[conv], names[bn])
        for conv, bn, tensor in feeds
        if calls[conv] == 1 and calls[bn] == 1 and counter.uses[tensor] == 0
        if bn.running_mean is not None and conv.out_channels == bn.num_features
    ]


class ExpELU(nn.Module):
    """ELU with ``α = 1`` as ``exp(min(x, 0)) − 1 + max(x, 0)`` (module docstring, step 2);
    ``(B, C, H, W)`` → the same shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x.clamp(max=0)).sub_(1).add_(x.clamp(min=0))


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold eval-mode ``bn`` into ``conv`` in place (module docstring, step 1); float64
    arithmetic, stored in the convolution's dtype."""
    scale = bn.running_var.double().add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - bn.running_mean.double()) * scale
    if bn.bias is not None:
        bias = bias + bn.bias.double()
    dtype = conv.weight.dtype
    conv.weight = nn.Parameter(
        (conv.weight.double() * scale.view(-1, 1, 1, 1)).to(dtype), requires_grad=False
    )
    conv.bias = nn.Parameter(bias.to(dtype), requires_grad=False)


def is_pointwise(conv: nn.Conv2d) -> bool:
    """A 1×1, stride-1, unpadded, ungrouped, undilated convolution: ``y = W x + b`` per pixel."""
    return (
        conv.kernel_size == (1, 1)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding in ((0, 0), "valid")
    )


def prepare_for_inference(model: DepthModel, *, winograd: bool = True) -> DepthModel:
    """A copy of ``model`` for inference (module docstring); ``model`` is left unchanged.
    ``winograd=False`` leaves out step 6 (for measuring it)."""
    prepared = copy.deepcopy(model).eval().requires_grad_(False)
    for param in prepared.parameters():
        param.grad = None  # the copy never trains
    param = next(prepared.parameters())
    like = {"device": param.device, "dtype": param.dtype}
    # a grey image (and sparse depth of 0.5 m): no draw from the global random generator
    example = [torch.full((1, 3, *prepared.config.input_size), 0.5, **like)]
    if prepared.takes_sparse:
        example.append(torch.full((1, 1, *prepared.config.input_size), 0.5, **like))
    for conv_name, bn_name in conv_bn_pairs(prepared, *example):
        fold_batchnorm(prepared.get_submodule(conv_name), prepared.get_submodule(bn_name))
        parent, _, child = bn_name.rpartition(".")
        setattr(prepared.get_submodule(parent), child, nn.Identity())
    for name, module in list(prepared.named_modules()):
        if isinstance(module, nn.ELU) and module.alpha == 1.0:
            parent, _, child = name.rpartition(".")
            setattr(prepared.get_submodule(parent), child, ExpELU())
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
            module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)
        if isinstance(module, nn.Conv2d):
            if like["device"].type == "cpu" and is_pointwise(module):
                module.dilation = (2, 2)
            if like["device"].type == "cpu" and winograd and prefers_winograd(module):
                parent, _, child = name.rpartition(".")
                setattr(prepared.get_submodule(parent), child, WinogradConv2d.from_conv(module))
    for module in prepared.modules():  # after folding: what depends on the final weights only
        if hasattr(module, "precompute"):
            module.precompute()
    return prepared


def to_inference_layout(images: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` images in the memory format a prepared model runs fastest on."""
    return images.contiguous(memory_format=torch.channels_last)


def state_key(model: nn.Module) -> tuple:
    """Changes whenever a parameter or buffer of ``model`` is replaced or changed in place."""
    tensors = [*model.parameters(), *model.buffers()]
    return tuple((t.data_ptr(), t._version, t.device, t.dtype) for t in tensors)


_CACHE: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, DepthModel]] = weakref.WeakKeyDictionary()


def inference_model(model: DepthModel) -> DepthModel:
    """:func:`prepare_for_inference` of ``model``, cached until its weights change."""
    key = state_key(model)
    cached = _CACHE.get(model)
    if cached is None or cached[0] != key:
        cached = (key, prepare_for_inference(model))
        _CACHE[model] = cached
    return cached[1]
