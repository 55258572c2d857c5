"""Positive / negative boxes picked by a sampler (MMDetection 2.x's ``SamplingResult``)."""
import torch


class SamplingResult:
    """The sampled positives and negatives of one image.

    Args:
        pos_inds (LongTensor): (P,) indices of the positives into ``bboxes``.
        neg_inds (LongTensor): (Q,) indices of the negatives into ``bboxes``.
        bboxes (Tensor): (N, 4+) the boxes sampled from (gts first when the
            sampler added them as proposals).
        gt_bboxes (Tensor): (G, 4) ground-truth boxes.
        assign_result (AssignResult): the assignment of the N ``bboxes``.
        gt_flags (Tensor): (N,) uint8, 1 for the rows of ``bboxes`` that are gts.

    Attributes:
        pos_bboxes (Tensor): (P, 4+) ``bboxes[pos_inds]``.
        neg_bboxes (Tensor): (Q, 4+) ``bboxes[neg_inds]``.
        pos_is_gt (Tensor): (P,) uint8 ``gt_flags[pos_inds]``.
        num_gts (int): G.
        pos_assigned_gt_inds (LongTensor): (P,) 0-based gt index of each positive.
        pos_gt_bboxes (Tensor): (P, 4) the gt box of each positive.
        pos_gt_labels (LongTensor | None): (P,) the assigned labels, ``None``
            when the assignment has no labels.
    """

    def __init__(self, pos_inds, neg_inds, bboxes, gt_bboxes, assign_result, gt_flags):
        self.pos_inds = pos_inds
        self.neg_inds = neg_inds
        self.pos_bboxes = bboxes[pos_inds]
        self.neg_bboxes = bboxes[neg_inds]
        self.pos_is_gt = gt_flags[pos_inds]
        self.num_gts = gt_bboxes.shape[0] if gt_bboxes.dim() > 1 else gt_bboxes.numel() // 4
        self.pos_assigned_gt_inds = assign_result.gt_inds[pos_inds] - 1
        if gt_bboxes.numel() == 0:
            if self.pos_assigned_gt_inds.numel() != 0:
                raise ValueError(f'{self.pos_assigned_gt_inds.numel()} positives were sampled but there are no gts')
            self.pos_gt_bboxes = gt_bboxes.new_zeros((0, 4))
        else:
            self.pos_gt_bboxes = gt_bboxes.view(-1, gt_bboxes.size(-1))[self.pos_assigned_gt_inds]
        self.pos_gt_labels = None if assign_result.labels is None else assign_result.labels[pos_inds]

    @property
    def bboxes(self):
        """Tensor: (P + Q, 4+) the positive then the negative boxes."""
        return torch.cat([self.pos_bboxes, self.neg_bboxes])

    def to(self, device):
        """Move every tensor attribute to ``device`` (in place); returns ``self``."""
        for key, value in self.__dict__.items():
            if isinstance(value, torch.Tensor):
                self.__dict__[key] = value.to(device)
        return self

    @property
    def info(self):
        """dict: the indices, boxes, ``pos_is_gt``, ``num_gts`` and ``pos_assigned_gt_inds``."""
        return {'pos_inds': self.pos_inds, 'neg_inds': self.neg_inds, 'pos_bboxes': self.pos_bboxes,
                'neg_bboxes': self.neg_bboxes, 'pos_is_gt': self.pos_is_gt, 'num_gts': self.num_gts,
                'pos_assigned_gt_inds': self.pos_assigned_gt_inds}

    def __nice__(self):
        data = dict(self.info)
        data['pos_bboxes'] = data['pos_bboxes'].shape
        data['neg_bboxes'] = data['neg_bboxes'].shape
        body = ',\n    '.join(f"'{k}': {v!r}" for k, v in sorted(data.items()))
        return '{\n    ' + body + '\n}'

    def __str__(self):
        return f'<{type(self).__name__}({self.__nice__()})>'

    def __repr__(self):
        return f'<{type(self).__name__}({self.__nice__()}) at {hex(id(self))}>'

    @classmethod
    def random(cls, rng=None, **kwargs):
        """A random SamplingResult (a :class:`RandomSampler` of 32 on
        :meth:`AssignResult.random(rng=rng, **kwargs) <AssignResult.random>`)."""
        from ..assigners.assign_result import AssignResult
        from ..demodata import ensure_rng, random_boxes
        from .random_sampler import RandomSampler
        rng = ensure_rng(rng)
        assign_result = AssignResult.random(rng=rng, **kwargs)
        bboxes = random_boxes(assign_result.num_preds, rng=rng)
        gt_bboxes = random_boxes(assign_result.num_gts, rng=rng)
        sampler = RandomSampler(32, 0.5, neg_pos_ub=-1, add_gt_as_proposals=False, rng=rng)
        return sampler.sample(assign_result, bboxes, gt_bboxes)
