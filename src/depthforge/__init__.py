"""depthforge: monocular depth estimation, the classic literature in one PyTorch toolkit.

The most used functions are reachable from the top level (imported on first use, so that
``import depthforge`` stays light)::

    import depthforge
    model = depthforge.create_model("fcrn_resnet18")
    prediction = depthforge.predict(model, images)      # depth at the input resolution
    data = depthforge.open_dataset("nyu", "path/to/nyu", split="test")
    metrics = depthforge.compute_metrics(pred, gt, protocol="nyu_eigen")
"""

from importlib import import_module

from depthforge.types import OutputSpace, Sample, Stereo

__version__ = "0.1.0"

_LAZY = {
    "create_model": "depthforge.models",
    "list_models": "depthforge.models",
    "load_model": "depthforge.models",
    "save_model": "depthforge.models",
    "predict": "depthforge.models",
    "open_dataset": "depthforge.data",
    "list_datasets": "depthforge.data",
    "compute_metrics": "depthforge.eval",
    "get_protocol": "depthforge.eval",
    "Evaluator": "depthforge.eval",
}

__all__ = ["OutputSpace", "Sample", "Stereo", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'depthforge' has no attribute {name!r}")
