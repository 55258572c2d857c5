"""The losses of Generalized Focal Loss (Li et al., "Generalized Focal Loss:
Learning Qualified and Distributed Bounding Boxes for Dense Object Detection",
NeurIPS 2020, https://arxiv.org/abs/2006.04388).

2.x's import path ``mmdet.models.losses.gfocal_loss``: Quality Focal Loss is
defined in :mod:`.focal_loss` (it also serves the ATSS/VFNet heads) and
re-exported here; Distribution Focal Loss is defined here.
"""
import torch.nn as nn
import torch.nn.functional as F

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES
from .focal_loss import QualityFocalLoss  # noqa: F401  (2.x import path)
from .utils import check_loss_args, resolve_reduction, weighted_loss


def dfl_bins(target):
    """Split continuous distances over their two neighbouring integer bins.

    A distance ``y`` in ``[y_l, y_l + 1)`` with ``y_l = floor(y)`` is
    represented by the bins ``y_l`` and ``y_r = y_l + 1`` with weights
    ``w_l = y_r - y`` and ``w_r = y - y_l`` (so ``w_l * y_l + w_r * y_r = y``).

    Args:
        target (Tensor): (N,) non-negative distances.

    Returns:
        tuple: ``left`` (N,) long, ``right`` (N,) long, ``weight_left`` (N,),
        ``weight_right`` (N,).
    """
    left = target.long()
    right = left + 1
    return left, right, right.to(target.dtype) - target, target - left.to(target.dtype)


@weighted_loss
def distribution_focal_loss(pred, label):
    """DFL: cross entropy of the predicted distribution with the two bins around ``label``.

    ``loss = -(w_l * log softmax(pred)[y_l] + w_r * log softmax(pred)[y_r])``
    (see :func:`dfl_bins`).

    Args:
        pred (Tensor): (N, n + 1) logits of a distribution over ``{0, ..., n}``.
        label (Tensor): (N,) target distances in ``[0, n)``.

    Returns:
        Tensor: (N,) loss.
    """
    n = pred.size(1) - 1
    if label.numel() and (bool(label.min() < 0) or bool(label.max() >= n)):
        raise InvalidArgumentError(f'DistributionFocalLoss: target distances must lie in [0, {n}) for a '
                                   f'distribution over {n + 1} bins, got [{float(label.min())}, '
                                   f'{float(label.max())}]')
    left, right, weight_left, weight_right = dfl_bins(label)
    logp = F.log_softmax(pred, dim=1)
    return -(logp.gather(1, left[:, None]).squeeze(1) * weight_left
             + logp.gather(1, right[:, None]).squeeze(1) * weight_right)


@LOSSES.register_module()
class DistributionFocalLoss(nn.Module):
    """Distribution Focal Loss: a general distribution over ``{0, ..., n}``
    trained towards the two bins next to the target distance.

    Args:
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        """``pred`` (N, n + 1) logits, ``target`` (N,) distances in [0, n),
        ``weight`` (N,) optional; returns the reduced loss (or (N,) with 'none')."""
        reduction = resolve_reduction(self, reduction_override)
        if pred.dim() != 2 or target.shape != pred.shape[:1]:
            raise InvalidArgumentError(f'DistributionFocalLoss: pred must be (N, n + 1) and target (N,), got '
                                       f'{tuple(pred.shape)} and {tuple(target.shape)}')
        target = target if target.is_floating_point() else target.float()
        return self.loss_weight * distribution_focal_loss(pred, target, weight, reduction=reduction,
                                                          avg_factor=avg_factor)
