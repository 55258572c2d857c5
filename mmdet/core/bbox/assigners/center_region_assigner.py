"""FSAF's center-region assignment (MMDetection 2.x's ``CenterRegionAssigner``).

A prior (an anchor of an anchor-free level, one per feature-map pixel) is a
positive of a gt when its centre is inside the gt and it overlaps the gt's
*core* (the gt shrunk to ``pos_scale``) by more than ``min_pos_iof`` of its own
area.  Priors overlapping the gt's *shadow* (the gt shrunk to ``neg_scale``)
but not its core are negatives whose loss for that gt's class is ignored: they
are returned as ``shadowed_labels`` pairs ``(prior index, class label)``.  A
prior in the cores of several gts goes to the smallest gt; for the others it
is shadowed.  Every step is a tensor operation over the (priors, gts) matrix.
"""
import torch

from ..builder import BBOX_ASSIGNERS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


def scale_boxes(bboxes, scale):
    """Boxes (m, 4) scaled by ``scale`` about their centres (m, 4)."""
    if bboxes.size(-1) != 4:
        raise ValueError(f'scale_boxes needs (m, 4) boxes, got {tuple(bboxes.shape)}')
    center = (bboxes[:, :2] + bboxes[:, 2:]) * 0.5
    half = (bboxes[:, 2:] - bboxes[:, :2]) * 0.5 * scale
    return torch.cat([center - half, center + half], dim=1)


def is_located_in(points, bboxes):
    """(m, n) bool: point (m, 2) strictly inside box (n, 4)."""
    if points.size(-1) != 2 or bboxes.size(-1) != 4:
        raise ValueError(f'is_located_in needs (m, 2) points and (n, 4) boxes, got {tuple(points.shape)} '
                         f'and {tuple(bboxes.shape)}')
    x, y = points[:, 0:1], points[:, 1:2]
    return (x > bboxes[:, 0]) & (x < bboxes[:, 2]) & (y > bboxes[:, 1]) & (y < bboxes[:, 3])


def bboxes_area(bboxes):
    """Areas (m,) of boxes (m, 4)."""
    return (bboxes[:, 2] - bboxes[:, 0]) * (bboxes[:, 3] - bboxes[:, 1])


@BBOX_ASSIGNERS.register_module()
class CenterRegionAssigner(BaseAssigner):
    """Assign the priors in the center region of a gt as its positives.

    Args:
        pos_scale (float): the core region is the gt scaled by this.
        neg_scale (float): the shadow (ignored) region is the gt scaled by this;
            with ``neg_scale == pos_scale`` (the FSAF configs) only overlapping
            cores shadow priors.
        min_pos_iof (float): minimum intersection over the prior's area for a
            prior to be in a region.
        ignore_gt_scale (float): the ``gt_bboxes_ignore`` boxes are scaled by
            this; priors with their centre inside become ignored (-1).
        foreground_dominate (bool): a prior that is a positive of one gt and in
            the shadow of another gt of the same class stays positive (True) or
            becomes a negative with that class ignored (False).
        iou_calculator (dict): config of the overlap calculator.

    ``assign`` returns an :class:`AssignResult` with ``gt_inds`` (0:
    negative, -1: ignored, k: gt k - 1), ``max_overlaps`` None, ``labels``
    (-1 where not positive; None without ``gt_labels``) and the extra property
    ``shadowed_labels``: a (S, 2) long tensor of ``(prior index, class
    label)`` pairs (None without ``gt_labels``).
    """

    def __init__(self, pos_scale, neg_scale, min_pos_iof=1e-2, ignore_gt_scale=0.5, foreground_dominate=False,
                 iou_calculator=dict(type='BboxOverlaps2D')):
        self.pos_scale = pos_scale
        self.neg_scale = neg_scale
        self.min_pos_iof = min_pos_iof
        self.ignore_gt_scale = ignore_gt_scale
        self.foreground_dominate = foreground_dominate
        self.iou_calculator = build_iou_calculator(iou_calculator)

    def get_gt_priorities(self, gt_bboxes):
        """(k,) long: the rank of each gt by area, the largest 0 and the
        smallest k - 1 (a larger priority wins a prior; equal areas: the later gt)."""
        order = bboxes_area(gt_bboxes).sort(descending=True, stable=True).indices
        return order.argsort()

    def assign(self, bboxes, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None):
        """Assign the priors ``bboxes`` (n, 4) to ``gt_bboxes`` (k, 4).

        Args:
            bboxes (Tensor): (n, 4) priors.
            gt_bboxes (Tensor): (k, 4) gt boxes.
            gt_bboxes_ignore (Tensor | None): (i, 4) boxes whose (scaled)
                region makes priors ignored.
            gt_labels (Tensor | None): (k,) gt labels.

        Returns:
            AssignResult: see the class docstring.
        """
        if bboxes.size(-1) != 4:
            raise ValueError(f'CenterRegionAssigner: bboxes must be (n, 4), got {tuple(bboxes.shape)}')
        num_gts, num_bboxes = gt_bboxes.size(0), bboxes.size(0)
        centers = (bboxes[:, :2] + bboxes[:, 2:4]) / 2

        # (n, k) masks: in the core (centre inside the gt too), and in the shadow but not the core
        in_gt = is_located_in(centers, gt_bboxes)
        in_core = in_gt & (self.iou_calculator(bboxes, scale_boxes(gt_bboxes, self.pos_scale), mode='iof')
                           > self.min_pos_iof)
        in_shadow = (self.iou_calculator(bboxes, scale_boxes(gt_bboxes, self.neg_scale), mode='iof')
                     > self.min_pos_iof) & ~in_core

        if num_gts == 0 or num_bboxes == 0:
            assigned_gt_ids = bboxes.new_zeros((num_bboxes,), dtype=torch.long)
            shadowed = assigned_gt_ids.new_empty((0, 2))
        else:
            assigned_gt_ids, shadowed = self.assign_one_hot_gt_indices(
                in_core, in_shadow, gt_priority=self.get_gt_priorities(gt_bboxes))

        if gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0:
            ignored = is_located_in(centers, scale_boxes(gt_bboxes_ignore, self.ignore_gt_scale)).any(dim=1)
            assigned_gt_ids[ignored] = -1

        assigned_labels = shadowed_labels = None
        if gt_labels is not None:
            assigned_labels = assigned_gt_ids.new_full((num_bboxes,), -1)
            pos = assigned_gt_ids > 0
            assigned_labels[pos] = gt_labels[assigned_gt_ids[pos] - 1]
            # shadowed (prior, gt) pairs become (prior, class) pairs
            shadowed_labels = shadowed.clone()
            if shadowed.numel() > 0:
                prior_idx, gt_idx = shadowed[:, 0], shadowed[:, 1]
                if (assigned_gt_ids[prior_idx] == gt_idx).any():
                    raise RuntimeError('CenterRegionAssigner: a prior is both assigned to and shadowed by a gt')
                shadowed_labels[:, 1] = gt_labels[gt_idx - 1]
                same_class = assigned_labels[prior_idx] == shadowed_labels[:, 1]
                if self.foreground_dominate:
                    shadowed_labels = shadowed_labels[~same_class]
                else:
                    assigned_labels[prior_idx[same_class]] = -1
                    assigned_gt_ids[prior_idx[same_class]] = 0

        result = AssignResult(num_gts, assigned_gt_ids, None, labels=assigned_labels)
        result.set_extra_property('shadowed_labels', shadowed_labels)
        return result

    def assign_one_hot_gt_indices(self, is_bbox_in_gt_core, is_bbox_in_gt_shadow, gt_priority=None):
        """One gt per prior: among the gts whose core holds it, the one of highest priority.

        Args:
            is_bbox_in_gt_core (Tensor): (n, k) bool.
            is_bbox_in_gt_shadow (Tensor): (n, k) bool.
            gt_priority (Tensor | None): (k,) distinct priorities; None: the gt index.

        Returns:
            tuple: ``assigned_gt_inds`` (n,) long, 1-based (0: none), and
            ``shadowed_gt_inds`` (S, 2) long pairs ``(prior index, 1-based gt
            index)``: the shadow pairs, then the core pairs that lost to a
            gt of higher priority.
        """
        num_bboxes, num_gts = is_bbox_in_gt_core.shape
        if gt_priority is None:
            gt_priority = torch.arange(num_gts, device=is_bbox_in_gt_core.device)
        if gt_priority.size(0) != num_gts:
            raise ValueError(f'gt_priority has {gt_priority.size(0)} entries for {num_gts} gts')
        assigned = is_bbox_in_gt_core.new_zeros((num_bboxes,), dtype=torch.long)
        shadowed = torch.nonzero(is_bbox_in_gt_shadow, as_tuple=False)
        if is_bbox_in_gt_core.any():
            pair_priority = torch.where(is_bbox_in_gt_core, gt_priority.view(1, -1).long(),
                                        gt_priority.new_full((1,), -1).long())
            matched = is_bbox_in_gt_core.any(dim=1)
            best = pair_priority.argmax(dim=1)  # the highest-priority core gt
            assigned[matched] = best[matched] + 1
            losers = is_bbox_in_gt_core.clone()
            losers[matched, best[matched]] = False
            shadowed = torch.cat([shadowed, torch.nonzero(losers, as_tuple=False)], dim=0)
        shadowed[:, 1] += 1
        return assigned, shadowed
