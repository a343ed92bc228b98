"""Packages whose public names are imported on first use.

``depthforge.data``, ``.eval``, ``.geometry``, ``.models`` and ``.train`` export their public
functions from ``__init__``; importing those eagerly would import PyTorch with any of their
modules, even a table of names (``depthforge datasets`` and ``protocols`` list names and need no tensor). A
package made lazy with :func:`lazy_package` imports the submodule that defines a name the first
time the name is read, and behaves as the eager ``__init__`` did otherwise.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType


class LazyPackage(ModuleType):
    """A package module whose exports (``_lazy_exports``: name → defining module) are imported
    on first access.

    Where a submodule has the name of an export (``depthforge.eval.align`` defines ``align``),
    loading the submodule never replaces the export: ``from depthforge.eval import align`` is the
    function, as with an eager ``from .align import align`` in ``__init__``.
    """

    def __getattr__(self, name: str):
        exports = self.__dict__["_lazy_exports"]
        if name not in exports:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(import_module(exports[name]), name)
        ModuleType.__setattr__(self, name, value)  # later reads are plain attribute reads
        return value

    def __setattr__(self, name: str, value: object) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if (
            name in exports
            and isinstance(value, ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
        ):
            return  # the import system binding the submodule over the export of its name
        ModuleType.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.__dict__["_lazy_exports"]))


def lazy_package(name: str, exports: dict[str, str]) -> None:
    """Make the package ``name`` (call with ``__name__`` from its ``__init__``) import each of
    ``exports`` (public name → the module that defines it) on first access."""
    module = sys.modules[name]
    module._lazy_exports = dict(exports)
    module.__class__ = LazyPackage
