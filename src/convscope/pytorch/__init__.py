"""The PyTorch bridge (extra ``convscope[torch]``): build a description as a module.

    >>> import convscope.pytorch as ct
    >>> model = ct.build("lenet5")      # a torch.nn.Module, channels-first (N, C, H, W)
"""

from .build import GraphModule, build

__all__ = ["GraphModule", "build"]
