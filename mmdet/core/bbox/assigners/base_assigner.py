"""Base class of box assigners (MMDetection 2.x's ``mmdet.core.bbox.assigners.base_assigner``)."""
from abc import ABCMeta, abstractmethod


class BaseAssigner(metaclass=ABCMeta):
    """An assigner matches priors / boxes to ground truth and returns an :class:`AssignResult`."""

    @abstractmethod
    def assign(self, bboxes, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None):
        """Assign ``bboxes`` (N, 4) to ``gt_bboxes`` (G, 4); return an :class:`AssignResult`."""
