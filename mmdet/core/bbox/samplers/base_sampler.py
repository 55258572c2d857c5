"""Base class of box samplers (MMDetection 2.x's ``mmdet.core.bbox.samplers.base_sampler``)."""
from abc import ABCMeta, abstractmethod

import torch

from .sampling_result import SamplingResult


class BaseSampler(metaclass=ABCMeta):
    """Picks up to ``num`` boxes, about ``num * pos_fraction`` of them positive.

    Args:
        num (int): number of boxes to sample per image.
        pos_fraction (float): the wanted fraction of positives.
        neg_pos_ub (int): at most ``neg_pos_ub * max(1, #pos)`` negatives; < 0 = no bound.
        add_gt_as_proposals (bool): also sample from the gt boxes (as positives
            assigned to themselves).

    Subclasses implement ``_sample_pos`` / ``_sample_neg(assign_result,
    num_expected, **kwargs)``, each returning LongTensor indices into the boxes.
    """

    def __init__(self, num, pos_fraction, neg_pos_ub=-1, add_gt_as_proposals=True, **kwargs):
        if num < 0 or not 0 <= pos_fraction <= 1:
            raise ValueError(f'need num >= 0 and 0 <= pos_fraction <= 1, got num={num}, '
                             f'pos_fraction={pos_fraction}')
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals
        self.pos_sampler = self
        self.neg_sampler = self

    @abstractmethod
    def _sample_pos(self, assign_result, num_expected, **kwargs):
        """Indices (LongTensor) of at most ``num_expected`` positives."""

    @abstractmethod
    def _sample_neg(self, assign_result, num_expected, **kwargs):
        """Indices (LongTensor) of at most ``num_expected`` negatives."""

    def sample(self, assign_result, bboxes, gt_bboxes, gt_labels=None, **kwargs):
        """Sample positives and negatives.

        Args:
            assign_result (AssignResult): assignment of the N ``bboxes``; with
                ``add_gt_as_proposals`` the gts are prepended to it in place.
            bboxes (Tensor): (N, 4+) candidate boxes (columns after 4 are dropped).
            gt_bboxes (Tensor): (G, 4) ground-truth boxes.
            gt_labels (LongTensor, optional): (G,) needed with ``add_gt_as_proposals``.

        Returns:
            SamplingResult: indices into ``cat([gt_bboxes, bboxes])`` when the
            gts were added, into ``bboxes`` otherwise.
        """
        if bboxes.dim() < 2:
            bboxes = bboxes[None, :]
        bboxes = bboxes[:, :4]
        if gt_bboxes.dim() < 2:
            gt_bboxes = gt_bboxes.view(-1, 4)
        gt_flags = bboxes.new_zeros((bboxes.shape[0],), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            if gt_labels is None:
                raise ValueError('gt_labels must be given when add_gt_as_proposals is True')
            bboxes = torch.cat([gt_bboxes[:, :4].to(bboxes), bboxes], dim=0)
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([bboxes.new_ones(gt_bboxes.shape[0], dtype=torch.uint8), gt_flags])

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_inds = self.pos_sampler._sample_pos(assign_result, num_expected_pos, bboxes=bboxes, **kwargs)
        pos_inds = pos_inds.unique()
        num_sampled_pos = pos_inds.numel()
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            num_expected_neg = min(num_expected_neg, int(self.neg_pos_ub * max(1, num_sampled_pos)))
        neg_inds = self.neg_sampler._sample_neg(assign_result, num_expected_neg, bboxes=bboxes, **kwargs)
        neg_inds = neg_inds.unique()
        return SamplingResult(pos_inds, neg_inds, bboxes, gt_bboxes, assign_result, gt_flags)
