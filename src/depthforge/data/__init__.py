"""Readers for each dataset in its original release format, yielding ``Sample`` records."""

from depthforge.lazy import lazy_package

# public name -> the module that defines it, imported on first use (depthforge.lazy)
_EXPORTS = {
    "DATASETS": "depthforge.data.registry",
    "DepthDataset": "depthforge.data.base",
    "list_datasets": "depthforge.data.registry",
    "open_dataset": "depthforge.data.registry",
    "register_dataset": "depthforge.data.registry",
}
lazy_package(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
