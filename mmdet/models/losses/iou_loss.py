import torch
import torch.nn as nn

from mmdet.core.bbox import bbox_overlaps

from ..builder import LOSSES
from mmdet.utils.errors import InvalidArgumentError

from .utils import check_loss_args, resolve_reduction, weighted_loss


@weighted_loss
def iou_loss(pred, target, linear=False, eps=1e-6):
    ious = bbox_overlaps(pred, target, is_aligned=True).clamp(min=eps)
    return 1 - ious if linear else -ious.log()


@weighted_loss
def giou_loss(pred, target, eps=1e-7):
    return 1 - bbox_overlaps(pred, target, mode='giou', is_aligned=True, eps=eps)


class _BoxLoss(nn.Module):
    """Shared forward of the IoU-family losses on (n, 4) boxes with (n,) or (n, 4) weights."""

    def __init__(self, eps=1e-6, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.eps, self.reduction, self.loss_weight = eps, reduction, loss_weight

    def _loss(self, pred, target, weight, reduction, avg_factor):
        raise NotImplementedError

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        if weight is not None and not torch.any(weight > 0):
            # keep the graph connected to pred so every parameter gets a (zero) gradient
            return (pred * weight.view(-1, *([1] * (pred.dim() - 1))) if weight.dim() == 1 else pred * weight).sum()
        if weight is not None and weight.dim() > 1:
            if weight.shape != pred.shape:  # 2.x: assert weight.shape == pred.shape
                raise InvalidArgumentError(f'{type(self).__name__}: a per-coordinate weight must have the shape '
                                           f'of pred {tuple(pred.shape)}, got {tuple(weight.shape)}')
            weight = weight.mean(-1)
        return self.loss_weight * self._loss(pred, target, weight, reduction, avg_factor)


@LOSSES.register_module()
class GIoULoss(_BoxLoss):
    """1 - GIoU (Rezatofighi et al. 2019)."""

    def _loss(self, pred, target, weight, reduction, avg_factor):
        return giou_loss(pred, target, weight, eps=self.eps, reduction=reduction, avg_factor=avg_factor)


@LOSSES.register_module()
class IoULoss(_BoxLoss):
    """-log(IoU), or 1 - IoU with ``linear=True``."""

    def __init__(self, linear=False, eps=1e-6, reduction='mean', loss_weight=1.0):
        super().__init__(eps, reduction, loss_weight)
        self.linear = linear

    def _loss(self, pred, target, weight, reduction, avg_factor):
        return iou_loss(pred, target, weight, linear=self.linear, eps=self.eps, reduction=reduction,
                        avg_factor=avg_factor)
