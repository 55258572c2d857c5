"""More box-regression losses of the IoU family, as MMDetection 2.10's:
Distance-IoU, Complete-IoU and Bounded IoU.

All take boxes ``(x1, y1, x2, y2)``.  With ``p`` the prediction and ``g`` the
target, ``IoU = |p ∩ g| / (|p| + |g| - |p ∩ g| + eps)``, ``c²`` the squared
diagonal of the smallest box enclosing both (+ eps) and ``ρ²`` the squared
distance of their centres:

- DIoU (Zheng et al., AAAI 2020): ``1 - IoU + ρ² / c²``;
- CIoU (Zheng et al., 2020): ``1 - IoU + ρ² / c² + v² / (1 - IoU + v)`` with
  ``v = 4 / π² (atan(w_g / h_g) - atan(w_p / h_p))²`` (heights + eps), the
  form of 2.10 (``α v`` with ``α = v / (1 - IoU + v)``, the gradient flowing
  through ``α`` too);
- Bounded IoU (Tychsen-Smith & Petersson, CVPR 2018): per coordinate
  (centre x, centre y, width, height) a bound on ``1 - IoU``, through a smooth
  L1 with ``beta``; the target side is a constant.

``IoULoss`` and ``GIoULoss`` are in :mod:`.iou_loss`; DIoU and CIoU share its
module forward (all-zero weights, ``(n, 4)`` weights averaged to ``(n,)``).
"""
import math
import numbers

import torch
import torch.nn as nn

from mmdet.utils.errors import InvalidArgumentError

from ..builder import LOSSES
from .iou_loss import _BoxLoss
from .utils import check_loss_args, check_same_size, resolve_reduction, weighted_loss


def _check_boxes(owner, pred, target):
    check_same_size(owner, pred, target)
    if pred.dim() != 2 or pred.size(-1) != 4:
        raise InvalidArgumentError(f'{owner} takes (n, 4) boxes (x1, y1, x2, y2), got {tuple(pred.shape)}')


def iou_and_centre_distance(pred, target, eps):
    """Aligned ``IoU``, ``ρ² / c²`` and the box sides of (n, 4) ``pred`` and ``target``.

    Returns ``(ious, rho2_over_c2, (w_p, h_p), (w_g, h_g))``, each (n,).
    """
    lt = torch.max(pred[:, :2], target[:, :2])
    rb = torch.min(pred[:, 2:], target[:, 2:])
    overlap = (rb - lt).clamp(min=0).prod(dim=1)
    wh_p = pred[:, 2:] - pred[:, :2]
    wh_g = target[:, 2:] - target[:, :2]
    union = wh_p.prod(dim=1) + wh_g.prod(dim=1) - overlap + eps
    ious = overlap / union
    enclose = (torch.max(pred[:, 2:], target[:, 2:]) - torch.min(pred[:, :2], target[:, :2])).clamp(min=0)
    c2 = enclose.pow(2).sum(dim=1) + eps
    # centres differ by ((g_x1 + g_x2) - (p_x1 + p_x2)) / 2 per axis
    rho2 = ((target[:, :2] + target[:, 2:]) - (pred[:, :2] + pred[:, 2:])).pow(2).sum(dim=1) / 4
    return ious, rho2 / c2, wh_p.unbind(1), wh_g.unbind(1)


@weighted_loss
def diou_loss(pred, target, eps=1e-7):
    """``1 - IoU + ρ² / c²`` per box pair: (n, 4), (n, 4) -> (n,)."""
    _check_boxes('diou_loss', pred, target)
    ious, distance, _, _ = iou_and_centre_distance(pred, target, eps)
    return 1 - ious + distance


@weighted_loss
def ciou_loss(pred, target, eps=1e-7):
    """``1 - IoU + ρ² / c² + v² / (1 - IoU + v)`` per box pair: (n, 4), (n, 4) -> (n,)."""
    _check_boxes('ciou_loss', pred, target)
    ious, distance, (w_p, h_p), (w_g, h_g) = iou_and_centre_distance(pred, target, eps)
    v = (4 / math.pi ** 2) * (torch.atan(w_g / (h_g + eps)) - torch.atan(w_p / (h_p + eps))).pow(2)
    return 1 - ious + distance + v.pow(2) / (1 - ious + v)


@weighted_loss
def bounded_iou_loss(pred, target, beta=0.2, eps=1e-3):
    """Bounded IoU loss per coordinate: (n, 4), (n, 4) -> (n, 4) (dx, dy, dw, dh).

    With ``d`` the centre offset and ``w`` the sides: ``1 - max((w_g - 2|d_x|) /
    (w_g + 2|d_x| + eps), 0)`` for x (y alike), ``1 - min(w_g / (w_p + eps),
    w_p / (w_g + eps))`` for the width (height alike); each then smooth-L1'd:
    ``0.5 x² / beta`` below ``beta``, else ``x - 0.5 beta``.  No gradient
    flows to ``target``.
    """
    _check_boxes('bounded_iou_loss', pred, target)
    ctr_p = (pred[:, :2] + pred[:, 2:]) * 0.5
    wh_p = pred[:, 2:] - pred[:, :2]
    with torch.no_grad():
        ctr_g = (target[:, :2] + target[:, 2:]) * 0.5
        wh_g = target[:, 2:] - target[:, :2]
    d = (ctr_g - ctr_p).abs()
    loss_ctr = 1 - ((wh_g - 2 * d) / (wh_g + 2 * d + eps)).clamp(min=0)
    loss_wh = 1 - torch.min(wh_g / (wh_p + eps), wh_p / (wh_g + eps))
    comb = torch.cat([loss_ctr, loss_wh], dim=1)  # (dx, dy, dw, dh)
    return torch.where(comb < beta, 0.5 * comb * comb / beta, comb - 0.5 * beta)


def _check_positive(owner, key, value, strict=True):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and (value > 0 if strict else value >= 0)
    if not ok:
        raise InvalidArgumentError(f'{owner} {key} must be a number {">" if strict else ">="} 0, got {value!r}')


@LOSSES.register_module()
class DIoULoss(_BoxLoss):
    """Distance-IoU loss on (n, 4) boxes.

    Args:
        eps (float): added to the union and to ``c²``.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): multiplies the loss.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``:
    ``weight`` (n,) or (n, 4) (averaged over the coordinates).
    """

    def __init__(self, eps=1e-6, reduction='mean', loss_weight=1.0):
        _check_positive(type(self).__name__, 'eps', eps, strict=False)
        super().__init__(eps, reduction, loss_weight)

    def _loss(self, pred, target, weight, reduction, avg_factor):
        return diou_loss(pred, target, weight, eps=self.eps, reduction=reduction, avg_factor=avg_factor)


@LOSSES.register_module()
class CIoULoss(_BoxLoss):
    """Complete-IoU loss on (n, 4) boxes: DIoU plus the aspect-ratio term.

    Args and forward as :class:`DIoULoss`.
    """

    def __init__(self, eps=1e-6, reduction='mean', loss_weight=1.0):
        _check_positive(type(self).__name__, 'eps', eps, strict=False)
        super().__init__(eps, reduction, loss_weight)

    def _loss(self, pred, target, weight, reduction, avg_factor):
        return ciou_loss(pred, target, weight, eps=self.eps, reduction=reduction, avg_factor=avg_factor)


@LOSSES.register_module()
class BoundedIoULoss(nn.Module):
    """Bounded IoU loss on (n, 4) boxes; the element-wise loss is (n, 4).

    Args:
        beta (float): the smooth-L1 threshold (> 0).
        eps (float): guards the divisions.
        reduction (str): 'none', 'mean' or 'sum'.
        loss_weight (float): multiplies the loss.

    ``forward(pred, target, weight=None, avg_factor=None, reduction_override=None)``:
    ``weight`` (n, 4) per coordinate, or (n,) per box (broadcast over the four
    coordinates; 2.x took only the first).  All-zero weights give a zero loss
    still connected to ``pred``.
    """

    def __init__(self, beta=0.2, eps=1e-3, reduction='mean', loss_weight=1.0):
        super().__init__()
        name = type(self).__name__
        _check_positive(name, 'beta', beta)
        _check_positive(name, 'eps', eps, strict=False)
        check_loss_args(name, reduction, loss_weight)
        self.beta, self.eps, self.reduction, self.loss_weight = beta, eps, reduction, loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override)
        if weight is not None and weight.dim() == 1:
            weight = weight[:, None]
        if weight is not None and not torch.any(weight > 0):
            return (pred * weight).sum()
        return self.loss_weight * bounded_iou_loss(pred, target, weight, beta=self.beta, eps=self.eps,
                                                   reduction=reduction, avg_factor=avg_factor)
