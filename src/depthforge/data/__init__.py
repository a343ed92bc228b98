"""Readers for each dataset in its original release format, yielding ``Sample`` records."""

from depthforge.data.base import DepthDataset
from depthforge.data.registry import DATASETS, list_datasets, open_dataset, register_dataset

__all__ = ["DATASETS", "DepthDataset", "list_datasets", "open_dataset", "register_dataset"]
