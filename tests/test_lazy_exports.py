"""Every name a lazy package exports resolves to what its defining module holds."""

import importlib
import types

import pytest

from depthforge.lazy import LazyPackage


@pytest.mark.parametrize(
    "package", ["depthforge.data", "depthforge.eval", "depthforge.models", "depthforge.train"]
)
def test_every_export_resolves(package):
    module = importlib.import_module(package)
    assert isinstance(module, LazyPackage)
    assert sorted(module.__all__) == sorted(module._lazy_exports)
    for name, defining in module._lazy_exports.items():
        value = getattr(module, name)
        assert value is getattr(importlib.import_module(defining), name), name
        assert not isinstance(value, types.ModuleType), name  # never the submodule of that name


def test_a_submodule_named_like_its_export_does_not_replace_it():
    import depthforge.eval.align  # noqa: F401  (binds the submodule on the package)
    from depthforge.eval import align

    assert callable(align) and not isinstance(align, types.ModuleType)


def test_an_unknown_name_is_an_attribute_error():
    import depthforge.eval

    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        depthforge.eval.no_such_name  # noqa: B018
