from .atss import ATSS
from .base import BaseDetector
from .fcos import FCOS
from .fovea import FOVEA
from .fsaf import FSAF
from .gfl import GFL
from .nasfcos import NASFCOS
from .paa import PAA
from .reppoints_detector import RepPointsDetector
from .retinanet import RetinaNet
from .single_stage import SingleStageDetector
from .vfnet import VFNet

__all__ = ['BaseDetector', 'SingleStageDetector', 'VFNet', 'ATSS', 'RetinaNet', 'FOVEA', 'RepPointsDetector', 'GFL',
           'PAA', 'FCOS', 'NASFCOS', 'FSAF']
