from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class FOVEA(SingleStageDetector):
    """FoveaBox: a single-stage detector with a :class:`FoveaHead`."""
