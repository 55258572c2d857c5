import torch

from ..builder import BBOX_ASSIGNERS
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


@BBOX_ASSIGNERS.register_module()
class PointAssigner(BaseAssigner):
    """RepPoints' initial assignment over points ``(x, y, stride)``.

    A gt lives on pyramid level round-down(mean(log2(w / scale), log2(h / scale)))
    (clamped to the levels present); its ``pos_num`` points closest to its
    centre (distance normalised by its w, h) on that level are positive.  A
    point claimed by several gts keeps the closest (the earliest gt on ties,
    as the original's sequential loop).
    """

    def __init__(self, scale=4, pos_num=3):
        self.scale, self.pos_num = scale, pos_num

    def assign(self, points, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None):
        num_points, num_gts = points.shape[0], gt_bboxes.shape[0]
        gt_inds = points.new_zeros((num_points,), dtype=torch.long)
        if num_gts == 0 or num_points == 0:
            labels = None if gt_labels is None else gt_inds.new_full((num_points,), -1)
            return AssignResult(num_gts, gt_inds, points.new_zeros((num_points,)), labels)
        xy, lvl = points[:, :2], torch.log2(points[:, 2]).int()
        gt_xy = (gt_bboxes[:, :2] + gt_bboxes[:, 2:]) / 2
        gt_wh = (gt_bboxes[:, 2:] - gt_bboxes[:, :2]).clamp(min=1e-6)
        gt_lvl = ((torch.log2(gt_wh[:, 0] / self.scale) + torch.log2(gt_wh[:, 1] / self.scale)) / 2).int()
        gt_lvl = gt_lvl.clamp(min=int(lvl.min()), max=int(lvl.max()))
        dist = ((xy[None] - gt_xy[:, None]) / gt_wh[:, None]).norm(dim=2)  # (G, P)
        dist = torch.where(gt_lvl[:, None] == lvl[None], dist, dist.new_full((), float('inf')))
        k = min(self.pos_num, num_points)
        min_dist, idx = dist.topk(k, dim=1, largest=False)  # (G, k)
        claim_gt = torch.arange(num_gts, device=points.device)[:, None].expand(-1, k).reshape(-1)
        claim_pt, claim_d = idx.reshape(-1), min_dist.reshape(-1)
        ok = torch.isfinite(claim_d)
        claim_gt, claim_pt, claim_d = claim_gt[ok], claim_pt[ok], claim_d[ok]
        best = points.new_full((num_points,), float('inf')).scatter_reduce(0, claim_pt, claim_d, 'amin')
        win = claim_d == best[claim_pt]
        first = torch.full((num_points,), num_gts, dtype=torch.long, device=points.device)
        first = first.scatter_reduce(0, claim_pt[win], claim_gt[win], 'amin')
        hit = first < num_gts
        gt_inds[hit] = first[hit] + 1
        labels = None
        if gt_labels is not None:
            labels = gt_inds.new_full((num_points,), -1)
            labels[hit] = gt_labels[first[hit]]
        return AssignResult(num_gts, gt_inds, points.new_zeros((num_points,)), labels)
