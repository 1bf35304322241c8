"""Training descriptions on PyTorch (the extra ``convscope[train]``)."""

from .run import TrainResult, train
from .setup import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train"]
