"""Mean squared error, as MMDetection 2.10's ``MSELoss`` (plus ``reduction_override``)."""
import torch.nn as nn
import torch.nn.functional as F

from ..builder import LOSSES
from .utils import check_loss_args, check_same_size, resolve_reduction, weighted_loss


@weighted_loss
def mse_loss(pred, target):
    """Element-wise ``(pred - target)²``; equal shapes in and out."""
    check_same_size('mse_loss', pred, target)
    return F.mse_loss(pred, target, reduction='none')


@LOSSES.register_module()
class MSELoss(nn.Module):
    """Squared error.

    Args:
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): multiplies the loss.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``:
    ``weight`` element-wise (broadcastable to ``pred``).
    """

    def __init__(self, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        return self.loss_weight * mse_loss(pred, target, weight, reduction=reduction, avg_factor=avg_factor)
