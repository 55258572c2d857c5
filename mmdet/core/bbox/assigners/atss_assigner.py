import torch

from ..builder import BBOX_ASSIGNERS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .base_assigner import BaseAssigner

INF = 100000000


@BBOX_ASSIGNERS.register_module()
class ATSSAssigner(BaseAssigner):
    """Adaptive Training Sample Selection (Zhang et al., CVPR 2020).

    For every gt: on each pyramid level take the ``topk`` priors whose centres
    are closest to the gt centre; among these candidates, the positives are
    those whose IoU with the gt is >= mean + std of the candidates' IoUs and
    whose centre lies inside the gt (by more than 0.01 px).  A prior positive
    for several gts goes to the one it overlaps most.

    Shapes: ``bboxes`` (N, 4) priors of all levels concatenated, with
    ``num_level_bboxes`` counts per level; ``gt_bboxes`` (G, 4).
    """

    def __init__(self, topk, ignore_iof_thr=-1, iou_calculator=dict(type='BboxOverlaps2D')):
        self.topk = topk
        self.ignore_iof_thr = ignore_iof_thr
        self.iou_calculator = build_iou_calculator(iou_calculator)

    def assign(self, bboxes, num_level_bboxes, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None):
        bboxes = bboxes[:, :4]
        num_gt, num_bboxes = gt_bboxes.size(0), bboxes.size(0)
        overlaps = self.iou_calculator(bboxes, gt_bboxes)
        assigned_gt_inds = overlaps.new_full((num_bboxes,), 0, dtype=torch.long)
        if num_gt == 0 or num_bboxes == 0:
            labels = None if gt_labels is None else overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
            return AssignResult(num_gt, assigned_gt_inds, overlaps.new_zeros((num_bboxes,)), labels)

        gt_points = (gt_bboxes[:, :2] + gt_bboxes[:, 2:]) / 2.0
        centres = (bboxes[:, :2] + bboxes[:, 2:]) / 2.0
        distances = (centres[:, None, :] - gt_points[None, :, :]).pow(2).sum(-1).sqrt()

        if self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0:
            ignore_iof = self.iou_calculator(bboxes, gt_bboxes_ignore, mode='iof').max(dim=1).values
            distances[ignore_iof > self.ignore_iof_thr, :] = INF
            assigned_gt_inds[ignore_iof > self.ignore_iof_thr] = -1

        # the topk closest priors per level and gt: (K_total, G)
        candidate_idxs, start = [], 0
        for n in num_level_bboxes:
            k = min(self.topk, n)
            _, idx = distances[start:start + n].topk(k, dim=0, largest=False)
            candidate_idxs.append(idx + start)
            start += n
        candidate_idxs = torch.cat(candidate_idxs, dim=0)

        gt_arange = torch.arange(num_gt, device=bboxes.device)
        candidate_overlaps = overlaps[candidate_idxs, gt_arange]
        thr = candidate_overlaps.mean(0) + candidate_overlaps.std(0)
        is_pos = candidate_overlaps >= thr[None, :]

        # candidate centre strictly inside its gt
        cand_c = centres[candidate_idxs]  # (K, G, 2)
        ltrb = torch.stack([cand_c[..., 0] - gt_bboxes[:, 0], cand_c[..., 1] - gt_bboxes[:, 1],
                            gt_bboxes[:, 2] - cand_c[..., 0], gt_bboxes[:, 3] - cand_c[..., 1]], dim=1)
        is_pos &= ltrb.min(dim=1).values > 0.01

        # keep each prior's positive gt with the highest IoU
        overlaps_inf = torch.full_like(overlaps, -INF)
        pos_rows = candidate_idxs[is_pos]
        pos_cols = gt_arange.expand_as(candidate_idxs)[is_pos]
        overlaps_inf[pos_rows, pos_cols] = overlaps[pos_rows, pos_cols]
        max_overlaps, argmax = overlaps_inf.max(dim=1)
        matched = max_overlaps != -INF
        assigned_gt_inds[matched] = argmax[matched] + 1

        labels = None
        if gt_labels is not None:
            labels = assigned_gt_inds.new_full((num_bboxes,), -1)
            labels[matched] = gt_labels[assigned_gt_inds[matched] - 1]
        return AssignResult(num_gt, assigned_gt_inds, max_overlaps, labels)
