import numbers

import torch
import torch.nn as nn

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES
from .utils import check_loss_args, check_same_size, resolve_reduction, weighted_loss


def check_beta(owner, beta):
    """2.x: ``assert beta > 0`` (the quadratic zone's half width; beta -> 0 is L1Loss)."""
    if not (isinstance(beta, numbers.Real) and not isinstance(beta, bool) and beta > 0):
        raise InvalidArgumentError(f'{owner} beta must be a number > 0 (use L1Loss for beta = 0), got {beta!r}')


@weighted_loss
def smooth_l1_loss(pred, target, beta=1.0):
    check_beta('smooth_l1_loss', beta)
    check_same_size('smooth_l1_loss', pred, target)
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


@weighted_loss
def l1_loss(pred, target):
    check_same_size('l1_loss', pred, target)
    return torch.abs(pred - target)


@LOSSES.register_module()
class SmoothL1Loss(nn.Module):

    def __init__(self, beta=1.0, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_beta(type(self).__name__, beta)
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.beta, self.reduction, self.loss_weight = beta, reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        return self.loss_weight * smooth_l1_loss(pred, target, weight, beta=self.beta, reduction=reduction,
                                                 avg_factor=avg_factor)


@LOSSES.register_module()
class L1Loss(nn.Module):

    def __init__(self, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        return self.loss_weight * l1_loss(pred, target, weight, reduction=reduction, avg_factor=avg_factor)
