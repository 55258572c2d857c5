from .balanced_l1_loss import BalancedL1Loss, balanced_l1_loss
from .cross_entropy_loss import CrossEntropyLoss
from .extra_iou_losses import BoundedIoULoss, CIoULoss, DIoULoss, bounded_iou_loss, ciou_loss, diou_loss
from .focal_loss import FocalLoss, QualityFocalLoss, quality_focal_loss, sigmoid_focal_loss
from .gfocal_loss import DistributionFocalLoss, distribution_focal_loss
from .ghm_loss import GHMC, GHMR
from .iou_loss import GIoULoss, IoULoss, giou_loss, iou_loss
from .mse_loss import MSELoss, mse_loss
from .pisa_loss import carl_loss, isr_p
from .smooth_l1_loss import L1Loss, SmoothL1Loss
from .utils import reduce_loss, weight_reduce_loss, weighted_loss
from .varifocal_loss import VarifocalLoss, varifocal_loss

__all__ = ['VarifocalLoss', 'varifocal_loss', 'FocalLoss', 'QualityFocalLoss', 'quality_focal_loss',
           'sigmoid_focal_loss', 'GIoULoss', 'IoULoss', 'giou_loss', 'iou_loss', 'CrossEntropyLoss', 'SmoothL1Loss',
           'L1Loss', 'reduce_loss', 'weight_reduce_loss', 'weighted_loss', 'DistributionFocalLoss',
           'distribution_focal_loss', 'GHMC', 'GHMR', 'BalancedL1Loss', 'balanced_l1_loss', 'BoundedIoULoss',
           'CIoULoss', 'DIoULoss', 'bounded_iou_loss', 'ciou_loss', 'diou_loss', 'MSELoss', 'mse_loss', 'carl_loss',
           'isr_p']
