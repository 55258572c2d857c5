from .atss import ATSS
from .retinanet import RetinaNet
from .base import BaseDetector
from .single_stage import SingleStageDetector
from .vfnet import VFNet

__all__ = ['BaseDetector', 'SingleStageDetector', 'VFNet', 'ATSS', 'RetinaNet']
