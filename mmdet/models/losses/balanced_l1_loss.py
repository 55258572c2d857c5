"""Balanced L1 loss (Libra R-CNN, Pang et al., CVPR 2019), as MMDetection 2.10's.

With ``x = |pred - target|`` and ``b = e^(gamma / alpha) - 1``::

    x <  beta:  alpha / b * (b x + 1) * ln(b x / beta + 1) - alpha x
    x >= beta:  gamma x + gamma / b - alpha beta

The two pieces meet at ``x = beta`` (value ``gamma beta + gamma / b - alpha
beta``); with ``beta = 1`` their slopes meet too (``gamma``).  Compared with
smooth L1 it raises the gradient of the small errors (the inliers).
"""
import math
import numbers

import torch
import torch.nn as nn

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES
from .smooth_l1_loss import check_beta
from .utils import check_loss_args, check_same_size, resolve_reduction, weighted_loss


def _check_positive(owner, key, value):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0):
        raise InvalidArgumentError(f'{owner} {key} must be a number > 0, got {value!r}')


@weighted_loss
def balanced_l1_loss(pred, target, beta=1.0, alpha=0.5, gamma=1.5):
    """Element-wise balanced L1: ``pred``, ``target`` any equal shape (e.g. (n, 4)) -> that shape."""
    check_beta('balanced_l1_loss', beta)
    check_same_size('balanced_l1_loss', pred, target)
    diff = torch.abs(pred - target)
    b = math.exp(gamma / alpha) - 1
    inner = alpha / b * (b * diff + 1) * torch.log(b * diff / beta + 1) - alpha * diff
    outer = gamma * diff + gamma / b - alpha * beta
    return torch.where(diff < beta, inner, outer)


@LOSSES.register_module()
class BalancedL1Loss(nn.Module):
    """Balanced L1 loss.

    Args:
        alpha (float): the inlier gradient scale (``alpha`` of the paper), > 0.
        gamma (float): the outlier slope (bound of the regression error), > 0.
        beta (float): where the two pieces meet, > 0.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): multiplies the loss.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``:
    ``pred`` / ``target`` (n, 4) (any equal shape); ``weight`` element-wise
    (broadcastable to the loss).  No elements: a zero loss connected to
    ``pred`` (2.x asserted ``numel() > 0``).
    """

    def __init__(self, alpha=0.5, gamma=1.5, beta=1.0, reduction='mean', loss_weight=1.0):
        super().__init__()
        name = type(self).__name__
        _check_positive(name, 'alpha', alpha)
        _check_positive(name, 'gamma', gamma)
        check_beta(name, beta)
        check_loss_args(name, reduction, loss_weight)
        self.alpha, self.gamma, self.beta = alpha, gamma, beta
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        if pred.numel() == 0 and reduction != 'none':
            check_same_size(type(self).__name__, pred, target)
            return pred.sum() * 0
        return self.loss_weight * balanced_l1_loss(pred, target, weight, alpha=self.alpha, gamma=self.gamma,
                                                   beta=self.beta, reduction=reduction, avg_factor=avg_factor)
