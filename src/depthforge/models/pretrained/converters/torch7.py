"""DIW's Torch7 releases (Chen et al. 2016): ``Best_model_period{1,2}.t7`` in ``hourglass3.tar.gz``.

A ``.t7`` file is Torch7's own serialisation of the whole ``nn.Sequential`` (cudnn modules, CUDA
tensors). It is parsed by the pure-Python ``torchfile`` reader (optional extra ``convert``), which
reads Lua functions as bytes and never runs them. The module tree is walked in order, giving each
parameter the positional path MegaDepth's conversion of the same network uses
(``3.0.0.1.2.3.weight``), then renamed by :func:`~depthforge.models.hourglass.release_key`.

Per module type:

* ``SpatialConvolution`` (``cudnn.`` or ``nn.``): ``weight`` reshaped to
  ``(nOutputPlane, nInputPlane, kH, kW)`` (older ``nn`` stores it flattened), ``bias``;
* ``SpatialBatchNormalization``: ``running_mean``, ``running_var`` and, when affine, ``weight``
  and ``bias``. Files written before Torch's 2016 change keep ``running_std``, the *inverse*
  standard deviation; it is turned into ``running_var = running_std^-2 − eps`` as Torch's own
  ``BatchNormalization:read`` does;
* containers (anything with ``modules``) are descended; other modules have no parameters.

The authors distribute the models in one archive, ``hourglass3.tar.gz``;
:func:`diw_tarball_converter` reads one model from it without unpacking the rest.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depthforge.errors import DataError
from depthforge.models.pretrained.converters.megadepth import hourglass_state


def _typename(module: Any) -> str:
    name = module.torch_typename() if hasattr(module, "torch_typename") else b""
    return name.decode("latin-1") if isinstance(name, bytes) else str(name)


def _field(module: Any, name: str) -> Any:
    return module[name]


def _present(value: Any) -> bool:
    """False for a nil field or an empty tensor (how Torch writes an absent parameter)."""
    return value is not None and not (isinstance(value, np.ndarray) and value.size == 0)


def _children(module: Any) -> list[Any]:
    modules = _field(module, "modules")
    if modules is None:
        return []
    if isinstance(modules, dict):  # a table whose keys are not 1..n
        return [modules[k] for k in sorted(modules)]
    return list(modules)


def _tensor(value: Any, what: str, source: Path) -> torch.Tensor:
    if not isinstance(value, np.ndarray) or value.size == 0:
        raise DataError(source, f"{what} is missing or not a tensor")
    return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))


def positional_parameters(root: Any, source: Path) -> Iterator[tuple[str, torch.Tensor]]:
    """``(positional path, tensor)`` for every parameter and running statistic under ``root``
    (a ``torchfile`` module object), depth first, children numbered from 0.

    Raises:
        DataError: a convolution or BatchNorm without its tensors.
    """
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, module = stack.pop()
        kind = _typename(module).rsplit(".", 1)[-1]
        if kind == "SpatialConvolution":
            shape = tuple(
                int(_field(module, f)) for f in ("nOutputPlane", "nInputPlane", "kH", "kW")
            )
            weight = _tensor(_field(module, "weight"), f"{path}weight", source)
            if weight.numel() != int(np.prod(shape)):
                raise DataError(source, f"{path}weight has {weight.numel()} values, not {shape}")
            yield f"{path}weight", weight.reshape(shape)
            if _present(_field(module, "bias")):
                yield f"{path}bias", _tensor(_field(module, "bias"), f"{path}bias", source)
        elif kind == "SpatialBatchNormalization":
            yield from _batchnorm(module, path, source)
        else:
            children = _children(module)
            stack.extend((f"{path}{i}.", child) for i, child in reversed(list(enumerate(children))))


def _batchnorm(module: Any, path: str, source: Path) -> Iterator[tuple[str, torch.Tensor]]:
    if _present(_field(module, "weight")):
        yield f"{path}weight", _tensor(_field(module, "weight"), f"{path}weight", source)
        yield f"{path}bias", _tensor(_field(module, "bias"), f"{path}bias", source)
    yield (
        f"{path}running_mean",
        _tensor(_field(module, "running_mean"), f"{path}running_mean", source),
    )
    if _present(_field(module, "running_var")):
        var = _tensor(_field(module, "running_var"), f"{path}running_var", source)
    else:
        inverse_std = _tensor(_field(module, "running_std"), f"{path}running_var", source)
        var = inverse_std.pow(-2) - float(_field(module, "eps"))
    yield f"{path}running_var", var


def read_t7(path: Path) -> Any:
    """The object stored in a Torch7 ``.t7`` file, parsed by ``torchfile`` (no code runs).

    Raises:
        DataError: ``torchfile`` is not installed, or the file is not a readable ``.t7``.
    """
    try:
        import torchfile
    except ImportError as exc:
        raise DataError(
            path,
            "reading Torch7 files needs the torchfile package: pip install 'depthforge[convert]'",
        ) from exc
    try:
        return torchfile.load(str(path))
    except Exception as exc:  # torchfile raises struct, value and its own errors on bad input
        raise DataError(path, f"not a readable Torch7 file ({type(exc).__name__}: {exc})") from exc


def convert_diw(path: Path) -> dict[str, torch.Tensor]:
    """State dict of :class:`~depthforge.models.hourglass.DIWHourglass` from a DIW
    ``Best_model_period*.t7`` file."""
    path = Path(path)
    root = read_t7(path)
    if not _typename(root).endswith("Sequential"):
        raise DataError(
            path, f"holds a {_typename(root) or type(root).__name__}, not an nn.Sequential model"
        )
    return hourglass_state(dict(positional_parameters(root, path)), path)


def diw_tarball_member(path: Path, member: str) -> Path:
    """``member`` (a path suffix such as ``AMT_from_scratch_1e-4_release/Best_model_period1.t7``)
    of DIW's ``hourglass3.tar.gz`` copied to a temporary file (only its bytes are read; nothing in
    the archive is extracted by name). The caller deletes the file.

    Raises:
        DataError: not a readable tar.gz, or no member ends with ``member``.
    """
    try:
        with tarfile.open(path, "r:*") as archive:
            found = [
                m for m in archive.getmembers() if m.isfile() and m.name.endswith("/" + member)
            ]
            if not found:
                raise DataError(path, f"no {member} in the archive")
            source = archive.extractfile(found[0])
            with tempfile.NamedTemporaryFile(suffix=".t7", delete=False) as target:
                shutil.copyfileobj(source, target)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(path, f"not a readable tar.gz archive ({exc})") from exc
    return Path(target.name)


def diw_tarball_converter(member: str) -> Callable[[Path], dict[str, torch.Tensor]]:
    """A converter reading the DIW model ``member`` straight from ``hourglass3.tar.gz``."""

    def convert(path: Path) -> dict[str, torch.Tensor]:
        extracted = diw_tarball_member(Path(path), member)
        try:
            state = convert_diw(extracted)
        except DataError as exc:
            raise DataError(path, f"{member}: {exc.problem}") from exc
        finally:
            extracted.unlink(missing_ok=True)
        return state

    return convert
