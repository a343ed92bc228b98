"""Read a pickled PyTorch checkpoint without executing it.

A pickle is a program: each global it names (``module.name``) is imported and may be called with
arguments the file chooses, which is how a malicious checkpoint runs ``os.system``. Releases
saved as whole pickled ``nn.Module`` objects (``torch.save(model)``) name their authors' classes,
which can only be imported by running the authors' code. This reader resolves every global
through an allow-list instead:

* ``stand_ins`` — class names replaced by inert :class:`StandIn` subclasses: creating one stores
  its arguments and its pickled state (``__setstate__``) and runs nothing else;
* ``SAFE_CALLABLES`` — the few functions and types a checkpoint needs to rebuild its data
  (``OrderedDict``, ``torch._utils._rebuild_tensor_v2`` …), each building plain data from plain
  data;
* anything else → :class:`RefusedGlobal`, raised before the global is looked up.

Storages are restored by ``torch.load`` itself (``map_location="cpu"``), for both the legacy
format (PyTorch ≤ 1.5: magic number + pickles + raw storages) and the zip format. The
parameters and buffers of a stand-in module tree are then read out by module path
(:func:`module_tensors`), exactly as ``nn.Module.state_dict`` names them.
"""

from __future__ import annotations

import pickle
import types
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import torch

from depthforge.errors import DataError


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list (``name`` holds ``module.name``)."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"global {name!r} is not allowed")


class StandIn:
    """An inert object in place of an instance of the pickled class ``pickled_name``.

    Attributes:
        args: the positional arguments the pickle constructed it with.
        state: what the pickle's BUILD gave it (for an ``nn.Module``, its ``__dict__``).
    """

    pickled_name: ClassVar[str] = ""
    dump_patches: ClassVar[bool] = False  # read by torch's legacy loader when sources differ

    def __new__(cls, *args: Any, **kwargs: Any) -> StandIn:
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<stand-in for {self.pickled_name}>"


def _nothing(*args: Any) -> None:
    """Stands for factories whose result is irrelevant to the weights (PyTorch 0.x module
    backends: ``torch.nn.backends.thnn._get_thnn_function_backend``)."""
    return None


SAFE_CALLABLES: dict[str, Callable[..., Any]] = {
    "collections.OrderedDict": OrderedDict,
    "collections.defaultdict": defaultdict,
    "builtins.dict": dict,
    "builtins.set": set,
    "torch.Size": torch.Size,
    "torch._utils._rebuild_tensor": torch._utils._rebuild_tensor,
    "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
    "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
    "torch._utils._rebuild_parameter_with_state": torch._utils._rebuild_parameter_with_state,
    "torch.nn.parameter.Parameter": torch.nn.Parameter,
    "torch.nn.backends.thnn._get_thnn_function_backend": _nothing,
}
"""Globals resolved to real (or harmless replacement) callables: each builds plain data."""


PYTHON2_MODULES = {"__builtin__": "builtins"}


def stand_in_classes(names: Iterable[str]) -> dict[str, type[StandIn]]:
    """One :class:`StandIn` subclass per ``module.Qual.Name``; a nested class (``UpProj.
    UpProjModule``) is also an attribute of its parent's stand-in, as pickle protocol 2 reaches
    it with ``getattr(parent, name)``."""
    classes: dict[str, type[StandIn]] = {}
    for full in sorted(names, key=len):  # parents before their nested classes
        parent = next((p for p in classes if full.startswith(p + ".")), None)
        if parent is None:
            module, _, qualname = full.rpartition(".")
        else:
            module = classes[parent].__module__
            qualname = full[len(module) + 1 :]
        name = qualname.rpartition(".")[2]
        attrs = {"pickled_name": full, "__module__": module, "__qualname__": qualname}
        classes[full] = type(name, (StandIn,), attrs)
        if parent is not None:
            setattr(classes[parent], name, classes[full])
    return classes


def restricted_pickle_module(stand_ins: Iterable[str]) -> types.ModuleType:
    """A ``pickle_module`` for ``torch.load`` that only knows ``stand_ins`` and
    :data:`SAFE_CALLABLES`; any other global raises :class:`RefusedGlobal`."""
    classes = stand_in_classes(stand_ins)

    def nested_class(parent: Any, name: str) -> type[StandIn]:
        # Protocol ≤ 3 pickles a nested class as getattr(parent, name): allow only that.
        if isinstance(parent, type) and issubclass(parent, StandIn):
            full = f"{parent.pickled_name}.{name}"
            if full in classes:
                return classes[full]
            raise RefusedGlobal(full)
        raise RefusedGlobal(f"builtins.getattr({parent!r}, {name!r})")

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            # Protocols ≤ 2 written by Python 3 name the built-ins by their Python 2 module.
            full = f"{PYTHON2_MODULES.get(module, module)}.{name}"
            if full in classes:
                return classes[full]
            if full in SAFE_CALLABLES:
                return SAFE_CALLABLES[full]
            if full == "builtins.getattr":
                return nested_class
            raise RefusedGlobal(full)

    def load(file: Any, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    module = types.ModuleType("depthforge_restricted_pickle")
    module.Unpickler, module.load = Unpickler, load
    return module


def load_restricted(path: Path, stand_ins: Iterable[str], what: str) -> Any:
    """``torch.load(path)`` with every global resolved through the allow-list (module docstring).

    Args:
        path: the checkpoint file.
        stand_ins: ``module.Qual.Name`` of the classes replaced by stand-ins.
        what: the kind of file expected, for error messages (``"a Sparse-to-Dense release"``).

    Raises:
        DataError: a global outside the allow-list (naming it; nothing of it was run), or a
            file torch cannot read.
    """
    if not Path(path).is_file():
        raise DataError(path, f"not found (expected {what})")
    try:
        with warnings.catch_warnings():
            # The legacy format stores module sources and warns that stand-ins have none.
            warnings.filterwarnings("ignore", message="Couldn't retrieve source code")
            return torch.load(
                path,
                map_location="cpu",
                pickle_module=restricted_pickle_module(stand_ins),
                weights_only=False,  # safe: the pickle_module above resolves every global
            )
    except RefusedGlobal as exc:
        raise DataError(
            path, f"refused to unpickle global {exc.name!r}: it is not part of {what}"
        ) from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError,
            KeyError, IndexError, OSError) as exc:  # fmt: skip
        raise DataError(path, f"not readable as {what} ({exc})") from exc


def module_tensors(module: Any, source: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers of a stand-in module tree by module path, as
    ``nn.Module.state_dict`` names them (``layer1.0.conv1.weight``).

    Raises:
        DataError: a node that is not a pickled module, or a parameter that is not a tensor.
    """
    if not isinstance(module, StandIn) or not isinstance(module.state, dict):
        raise DataError(source, f"{prefix or 'the model'} is not a pickled nn.Module")
    state = module.state
    skip = state.get("_non_persistent_buffers_set", ())
    skip = skip if isinstance(skip, set) else ()
    tensors: dict[str, torch.Tensor] = {}
    groups = {key: state.get(key, {}) for key in ("_parameters", "_buffers", "_modules")}
    for key, group in groups.items():
        if not isinstance(group, dict):
            raise DataError(source, f"{prefix}{key} of the pickled model is not a dict")
    for group in (groups["_parameters"], groups["_buffers"]):
        for name, tensor in group.items():
            if tensor is None or name in skip:
                continue
            if not isinstance(tensor, torch.Tensor):
                raise DataError(
                    source, f"{prefix}{name} is a {type(tensor).__name__}, not a tensor"
                )
            tensors[prefix + name] = tensor.detach()
    for name, child in groups["_modules"].items():
        if child is not None:
            tensors.update(module_tensors(child, source, f"{prefix}{name}."))
    return tensors
