from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class FCOS(SingleStageDetector):
    """FCOS (Tian et al., ICCV 2019): a single-stage detector with an :class:`FCOSHead`."""
