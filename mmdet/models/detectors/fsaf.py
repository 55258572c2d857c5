from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class FSAF(SingleStageDetector):
    """FSAF (Zhu et al., CVPR 2019): a single-stage detector with an :class:`FSAFHead`."""
