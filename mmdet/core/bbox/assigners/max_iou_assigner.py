import torch

from ..builder import BBOX_ASSIGNERS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


def max_iou_assign(overlaps, pos_iou_thr, neg_iou_thr, min_pos_iou=0.0, gt_max_assign_all=True,
                   match_low_quality=True, gt_labels=None):
    """2.x's ``MaxIoUAssigner.assign_wrt_overlaps``: assignment from an overlap matrix.

    Args:
        overlaps (Tensor): (G, N) overlaps of the gts with the priors; ignored
            priors have -1 in every row.
        pos_iou_thr (float): positive when the best overlap >= this.
        neg_iou_thr (float | tuple): negative when the best overlap is in
            [0, thr) (or in [lo, hi)).
        min_pos_iou (float): with ``match_low_quality``, each gt also takes its
            best prior(s) when that overlap >= this.
        gt_max_assign_all (bool): all priors tied at a gt's best overlap, or
            only the first.
        match_low_quality (bool): see ``min_pos_iou``.
        gt_labels (Tensor | None): (G,) labels, to fill ``AssignResult.labels``.

    Returns:
        AssignResult: ``gt_inds`` (N,) 1-based (0 background, -1 ignored),
        ``max_overlaps`` (N,), ``labels`` (N,) or None.  Ties between gts go
        to the later gt, as 2.x's loop does.
    """
    num_gts, num_bboxes = overlaps.shape
    gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
    if num_gts == 0 or num_bboxes == 0:
        if num_gts == 0:
            gt_inds[:] = 0
        labels = None if gt_labels is None else gt_inds.new_full((num_bboxes,), -1)
        return AssignResult(num_gts, gt_inds, overlaps.new_zeros((num_bboxes,)), labels)
    max_overlaps, argmax = overlaps.max(dim=0)
    gt_max, gt_argmax = overlaps.max(dim=1)
    if isinstance(neg_iou_thr, (tuple, list)):
        lo, hi = neg_iou_thr
        gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
    else:
        gt_inds[(max_overlaps >= 0) & (max_overlaps < neg_iou_thr)] = 0
    pos = max_overlaps >= pos_iou_thr
    gt_inds[pos] = argmax[pos] + 1
    if match_low_quality:
        ok = gt_max >= min_pos_iou  # (G,)
        if gt_max_assign_all:
            hit = (overlaps == gt_max[:, None]) & ok[:, None]  # (G, N)
        else:  # only the first best prior of each gt
            hit = torch.zeros_like(overlaps, dtype=torch.bool)
            hit[torch.arange(num_gts, device=overlaps.device), gt_argmax] = True
            hit &= ok[:, None]
        any_hit = hit.any(dim=0)
        last = num_gts - 1 - hit.flip(0).int().argmax(dim=0)  # the last gt in order wins
        gt_inds[any_hit] = last[any_hit] + 1
    labels = None
    if gt_labels is not None:
        labels = gt_inds.new_full((num_bboxes,), -1)
        p = gt_inds > 0
        labels[p] = gt_labels[gt_inds[p] - 1]
    return AssignResult(num_gts, gt_inds, max_overlaps, labels)


@BBOX_ASSIGNERS.register_module()
class MaxIoUAssigner(BaseAssigner):
    """Each prior goes to the gt it overlaps most: positive when IoU >=
    ``pos_iou_thr``, negative when below ``neg_iou_thr`` (a float or a [lo, hi)
    range), ignored in between.  With ``match_low_quality`` every gt also takes
    the prior(s) it overlaps most if that IoU >= ``min_pos_iou`` (later gts win
    ties, as in the original loop).  Priors covering ``gt_bboxes_ignore`` by IoF
    > ``ignore_iof_thr`` are ignored.
    """

    def __init__(self, pos_iou_thr, neg_iou_thr, min_pos_iou=.0, gt_max_assign_all=True, ignore_iof_thr=-1,
                 ignore_wrt_candidates=True, match_low_quality=True, gpu_assign_thr=-1,
                 iou_calculator=dict(type='BboxOverlaps2D')):
        self.pos_iou_thr, self.neg_iou_thr, self.min_pos_iou = pos_iou_thr, neg_iou_thr, min_pos_iou
        self.gt_max_assign_all, self.ignore_iof_thr = gt_max_assign_all, ignore_iof_thr
        self.ignore_wrt_candidates, self.match_low_quality = ignore_wrt_candidates, match_low_quality
        self.iou_calculator = build_iou_calculator(iou_calculator)

    def assign(self, bboxes, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None):
        bboxes = bboxes[:, :4]
        num_gts = gt_bboxes.size(0)
        overlaps = self.iou_calculator(gt_bboxes, bboxes)  # (G, N)
        if self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0 and num_gts:
            if self.ignore_wrt_candidates:
                iof = self.iou_calculator(bboxes, gt_bboxes_ignore, mode='iof').max(dim=1).values
            else:
                iof = self.iou_calculator(gt_bboxes_ignore, bboxes, mode='iof').max(dim=0).values
            overlaps[:, iof > self.ignore_iof_thr] = -1
        return max_iou_assign(overlaps, self.pos_iou_thr, self.neg_iou_thr, self.min_pos_iou,
                              self.gt_max_assign_all, self.match_low_quality, gt_labels)
