from .cross_entropy_loss import CrossEntropyLoss
from .focal_loss import FocalLoss, QualityFocalLoss, quality_focal_loss, sigmoid_focal_loss
from .gfocal_loss import DistributionFocalLoss, distribution_focal_loss
from .ghm_loss import GHMC, GHMR
from .iou_loss import GIoULoss, IoULoss, giou_loss, iou_loss
from .smooth_l1_loss import L1Loss, SmoothL1Loss
from .utils import reduce_loss, weight_reduce_loss, weighted_loss
from .varifocal_loss import VarifocalLoss, varifocal_loss

__all__ = ['VarifocalLoss', 'varifocal_loss', 'FocalLoss', 'QualityFocalLoss', 'quality_focal_loss',
           'sigmoid_focal_loss', 'GIoULoss', 'IoULoss', 'giou_loss', 'iou_loss', 'CrossEntropyLoss', 'SmoothL1Loss',
           'L1Loss', 'reduce_loss', 'weight_reduce_loss', 'weighted_loss', 'DistributionFocalLoss',
           'distribution_focal_loss', 'GHMC', 'GHMR']
