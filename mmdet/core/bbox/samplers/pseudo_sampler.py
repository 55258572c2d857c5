"""The sampler that keeps everything (MMDetection 2.x's ``PseudoSampler``)."""
import torch

from ..builder import BBOX_SAMPLERS
from .base_sampler import BaseSampler
from .sampling_result import SamplingResult


@BBOX_SAMPLERS.register_module()
class PseudoSampler(BaseSampler):
    """Every assigned box is a positive, every background box a negative; ignored
    boxes (``gt_inds == -1``) are neither.  Takes no options (``**kwargs``, e.g.
    2.x's ``context``, are accepted and ignored)."""

    def __init__(self, **kwargs):
        pass

    def _sample_pos(self, **kwargs):
        raise NotImplementedError('PseudoSampler does not sample; use sample()')

    def _sample_neg(self, **kwargs):
        raise NotImplementedError('PseudoSampler does not sample; use sample()')

    def sample(self, assign_result, bboxes, gt_bboxes, **kwargs):
        """All positives and negatives of ``assign_result``.

        Args:
            assign_result (AssignResult): assignment of the N ``bboxes``.
            bboxes (Tensor): (N, 4+) boxes / priors (kept whole in ``pos_bboxes`` etc.).
            gt_bboxes (Tensor): (G, 4) ground-truth boxes.

        Returns:
            SamplingResult: ``pos_inds`` / ``neg_inds`` sorted, ``pos_is_gt`` all 0.
        """
        if assign_result.num_preds != bboxes.shape[0]:
            raise ValueError(f'assign_result has {assign_result.num_preds} predictions but '
                             f'{bboxes.shape[0]} boxes were given')
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(-1).unique()
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(-1).unique()
        gt_flags = bboxes.new_zeros(bboxes.shape[0], dtype=torch.uint8)
        return SamplingResult(pos_inds, neg_inds, bboxes, gt_bboxes, assign_result, gt_flags)
