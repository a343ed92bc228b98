"""Architectures of the classic literature, a registry, save/load, prediction and ONNX export.

>>> from depthforge.models import create_model, predict
>>> model = create_model("fcrn_resnet18")
"""

from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.eigen2014 import Eigen2014, Eigen2014Config
from depthforge.models.eigen2015 import Eigen2015, Eigen2015Config, MultiTaskOutput
from depthforge.models.export import export_onnx
from depthforge.models.fcrn import FCRN, FCRNConfig
from depthforge.models.io import load_model, save_model
from depthforge.models.monodepth2 import Monodepth2, Monodepth2Config, Monodepth2Output
from depthforge.models.posenet import PoseNet, PoseNetConfig
from depthforge.models.predict import Prediction, predict
from depthforge.models.registry import MODELS, create_model, list_models
from depthforge.models.resflow import ResFlowNet, ResFlowNetConfig
from depthforge.models.sparse_to_dense import SparseToDense, SparseToDenseConfig
from depthforge.models.two_stream import StreamOutputs, TwoStream, TwoStreamConfig

__all__ = [
    "FCRN",
    "MODELS",
    "DepthModel",
    "Eigen2014",
    "Eigen2014Config",
    "Eigen2015",
    "Eigen2015Config",
    "FCRNConfig",
    "ModelConfig",
    "Monodepth2",
    "Monodepth2Config",
    "Monodepth2Output",
    "MultiTaskOutput",
    "PoseNet",
    "PoseNetConfig",
    "Prediction",
    "ResFlowNet",
    "ResFlowNetConfig",
    "SparseToDense",
    "SparseToDenseConfig",
    "StreamOutputs",
    "TwoStream",
    "TwoStreamConfig",
    "create_model",
    "export_onnx",
    "list_models",
    "load_model",
    "predict",
    "save_model",
]
