import torch.nn as nn
import torch.nn.functional as F

from ..builder import LOSSES
from .utils import check_loss_args, check_use_sigmoid, resolve_reduction, weight_reduce_loss


def sigmoid_focal_loss(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction='mean', avg_factor=None):
    """Focal Loss (Lin et al. 2017) on logits ``pred`` (N, C) and binary ``target`` (N, C)."""
    pred_sigmoid = pred.sigmoid()
    target = target.type_as(pred)
    pt = (1 - pred_sigmoid) * target + pred_sigmoid * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction='none') * focal_weight
    if weight is not None and weight.shape != loss.shape:
        weight = weight.view(-1, 1) if weight.size(0) == loss.size(0) else weight.view(loss.size(0), -1)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@LOSSES.register_module()
class FocalLoss(nn.Module):
    """Sigmoid focal loss; ``target`` is class indices (N,), ``num_classes`` = background."""

    def __init__(self, use_sigmoid=True, gamma=2.0, alpha=0.25, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_use_sigmoid(type(self).__name__, use_sigmoid)
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.use_sigmoid, self.gamma, self.alpha = use_sigmoid, gamma, alpha
        self.reduction, self.loss_weight = reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        num_classes = pred.size(1)
        if target.dim() == 1:
            target = F.one_hot(target, num_classes=num_classes + 1)[:, :num_classes]
        return self.loss_weight * sigmoid_focal_loss(pred, target, weight, gamma=self.gamma, alpha=self.alpha,
                                                     reduction=reduction, avg_factor=avg_factor)


def quality_focal_loss(pred, target, weight=None, beta=2.0, reduction='mean', avg_factor=None):
    """Quality Focal Loss (Li et al., GFL, 2020): BCE against a soft (IoU) target,
    every element scaled by ``|sigmoid(pred) - target|^beta``."""
    scale = (pred.sigmoid() - target).abs().pow(beta)
    loss = F.binary_cross_entropy_with_logits(pred, target.type_as(pred), reduction='none') * scale
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@LOSSES.register_module()
class QualityFocalLoss(nn.Module):
    """QFL on (N, C) logits against (N, C) IoU-aware targets (as VFL takes them),
    or against the 2.x tuple ``(labels, quality)`` with per-sample weights (N,)."""

    def __init__(self, use_sigmoid=True, beta=2.0, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_use_sigmoid(type(self).__name__, use_sigmoid)
        check_loss_args(type(self).__name__, reduction, loss_weight)
        self.use_sigmoid, self.beta, self.reduction, self.loss_weight = use_sigmoid, beta, reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        if isinstance(target, (tuple, list)):  # 2.x form: (labels (N,), quality (N,)), num_classes = background
            labels, quality = target
            dense = pred.new_zeros(pred.shape)
            pos = ((labels >= 0) & (labels < pred.size(1))).nonzero(as_tuple=False).squeeze(1)
            dense[pos, labels[pos]] = quality[pos].to(dense.dtype)
            target = dense
        if weight is not None and weight.dim() == 1:
            weight = weight[:, None]
        return self.loss_weight * quality_focal_loss(pred, target, weight, self.beta,
                                                     resolve_reduction(self, reduction_override), avg_factor)
