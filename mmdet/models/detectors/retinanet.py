from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class RetinaNet(SingleStageDetector):
    """RetinaNet: a single-stage detector with a :class:`RetinaHead`."""
