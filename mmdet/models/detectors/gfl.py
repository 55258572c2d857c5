from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class GFL(SingleStageDetector):
    """Generalized Focal Loss detector: a single-stage detector with a :class:`GFLHead`."""
