from ..builder import DETECTORS
from .single_stage import SingleStageDetector


@DETECTORS.register_module()
class PAA(SingleStageDetector):
    """PAA (Kim & Lee, ECCV 2020): a single-stage detector with a :class:`PAAHead`
    (probabilistic anchor assignment, IoU prediction, score voting)."""
