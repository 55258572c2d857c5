from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class NASFCOS(SingleStageDetector):
    """NAS-FCOS (Wang et al., CVPR 2020): a single-stage detector with the
    searched :class:`NASFCOS_FPN` neck and an FCOS-style head
    (:class:`NASFCOSHead` or :class:`FCOSHead`)."""
