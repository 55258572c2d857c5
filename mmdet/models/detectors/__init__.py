from .atss import ATSS
from .reppoints_detector import RepPointsDetector
from .retinanet import RetinaNet
from .base import BaseDetector
from .fovea import FOVEA
from .single_stage import SingleStageDetector
from .vfnet import VFNet

__all__ = ['BaseDetector', 'SingleStageDetector', 'VFNet', 'ATSS', 'RetinaNet', 'FOVEA', 'RepPointsDetector']
