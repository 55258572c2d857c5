import torch
import torch.nn as nn


class Scale(nn.Module):
    """A learnable scalar multiplier (``scale`` in checkpoints)."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x):
        return x * self.scale
