from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class VFNet(SingleStageDetector):
    """VarifocalNet: a single-stage detector with a :class:`VFNetHead`."""
