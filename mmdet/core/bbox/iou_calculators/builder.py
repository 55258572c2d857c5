"""Registry and builder of IoU calculators (MMDetection 2.x's ``mmdet.core.bbox.iou_calculators.builder``)."""
from mmdet.utils import Registry, build_from_cfg

IOU_CALCULATORS = Registry('IoU calculator')


def build_iou_calculator(cfg, default_args=None):
    """Build an IoU calculator (e.g. ``dict(type='BboxOverlaps2D')``) from ``cfg``."""
    return build_from_cfg(cfg, IOU_CALCULATORS, default_args)
