"""Architectures of the classic literature, a registry, save/load, prediction and ONNX export.

>>> from depthforge.models import create_model, predict
>>> model = create_model("fcrn_resnet18")
"""

from depthforge.lazy import lazy_package

# public name -> the module that defines it, imported on first use (depthforge.lazy)
_EXPORTS = {
    "FCRN": "depthforge.models.fcrn",
    "MODELS": "depthforge.models.registry",
    "DepthModel": "depthforge.models.base",
    "Eigen2014": "depthforge.models.eigen2014",
    "Eigen2014Config": "depthforge.models.eigen2014",
    "Eigen2015": "depthforge.models.eigen2015",
    "Eigen2015Config": "depthforge.models.eigen2015",
    "FCRNConfig": "depthforge.models.fcrn",
    "ModelConfig": "depthforge.models.base",
    "Monodepth2": "depthforge.models.monodepth2",
    "Monodepth2Config": "depthforge.models.monodepth2",
    "Monodepth2Output": "depthforge.models.monodepth2",
    "MultiTaskOutput": "depthforge.models.eigen2015",
    "PoseNet": "depthforge.models.posenet",
    "PoseNetConfig": "depthforge.models.posenet",
    "Prediction": "depthforge.models.predict",
    "ResFlowNet": "depthforge.models.resflow",
    "ResFlowNetConfig": "depthforge.models.resflow",
    "SparseToDense": "depthforge.models.sparse_to_dense",
    "SparseToDenseConfig": "depthforge.models.sparse_to_dense",
    "StreamOutputs": "depthforge.models.two_stream",
    "TwoStream": "depthforge.models.two_stream",
    "TwoStreamConfig": "depthforge.models.two_stream",
    "create_model": "depthforge.models.registry",
    "export_onnx": "depthforge.models.export",
    "list_models": "depthforge.models.registry",
    "load_model": "depthforge.models.io",
    "predict": "depthforge.models.predict",
    "save_model": "depthforge.models.io",
}
lazy_package(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
