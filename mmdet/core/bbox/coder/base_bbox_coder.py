"""Base class of box coders (MMDetection 2.x's ``mmdet.core.bbox.coder.base_bbox_coder``)."""
from abc import ABCMeta, abstractmethod


class BaseBBoxCoder(metaclass=ABCMeta):
    """A coder turns boxes into regression targets (``encode``) and back (``decode``)."""

    def __init__(self, **kwargs):
        pass

    @abstractmethod
    def encode(self, bboxes, gt_bboxes):
        """Targets (n, k) that turn ``bboxes`` (n, 4) into ``gt_bboxes`` (n, 4)."""

    @abstractmethod
    def decode(self, bboxes, bboxes_pred):
        """Boxes (n, 4) from ``bboxes`` (n, 4) and the predicted targets (n, k)."""
