from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class ATSS(SingleStageDetector):
    """ATSS: a single-stage detector with an :class:`ATSSHead`."""
