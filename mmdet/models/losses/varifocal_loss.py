import numbers

import torch.nn as nn
import torch.nn.functional as F

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES
from .utils import check_loss_args, check_same_size, check_use_sigmoid, resolve_reduction, weight_reduce_loss


def varifocal_loss(pred, target, weight=None, alpha=0.75, gamma=2.0, iou_weighted=True,
                   reduction='mean', avg_factor=None):
    """Varifocal Loss (Zhang et al., CVPR 2021), eq. 2.

    ``pred`` (N, C) logits, ``target`` (N, C) IoU-aware targets q (the IoU with
    the gt at the gt class of a positive, 0 elsewhere).  Positives are weighted
    by q (``iou_weighted``) or 1; negatives by ``alpha * |p - q|^gamma``.
    """
    check_same_size('varifocal_loss', pred, target)
    pred_sigmoid = pred.sigmoid()
    target = target.type_as(pred)
    pos = (target > 0.0).float()
    neg_weight = alpha * (pred_sigmoid - target).abs().pow(gamma) * (target <= 0.0).float()
    focal_weight = (target * pos if iou_weighted else pos) + neg_weight
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@LOSSES.register_module()
class VarifocalLoss(nn.Module):

    def __init__(self, use_sigmoid=True, alpha=0.75, gamma=2.0, iou_weighted=True, reduction='mean',
                 loss_weight=1.0):
        super().__init__()
        name = type(self).__name__
        check_use_sigmoid(name, use_sigmoid)
        if not (isinstance(alpha, numbers.Real) and alpha >= 0):
            raise InvalidArgumentError(f'{name} alpha must be a number >= 0, got {alpha!r}')
        check_loss_args(name, reduction, loss_weight)
        self.use_sigmoid, self.alpha, self.gamma = use_sigmoid, alpha, gamma
        self.iou_weighted, self.reduction, self.loss_weight = iou_weighted, reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        return self.loss_weight * varifocal_loss(pred, target, weight, alpha=self.alpha, gamma=self.gamma,
                                                 iou_weighted=self.iou_weighted, reduction=reduction,
                                                 avg_factor=avg_factor)
