"""NMS variants with the mmcv call convention: each returns ``(dets, keep)``
where ``dets`` is ``(k, 5)`` ``[x1, y1, x2, y2, score]`` sorted by score."""
import torch
from torchvision.ops import batched_nms as tv_batched_nms
from torchvision.ops import nms as tv_nms


def nms(boxes, scores, iou_threshold, score_threshold=0, max_num=-1):
    """Hard NMS (torchvision); boxes overlapping a kept one by > ``iou_threshold`` go."""
    if score_threshold > 0:
        valid = (scores > score_threshold).nonzero().view(-1)
        boxes, scores = boxes[valid], scores[valid]
    else:
        valid = None
    keep = tv_nms(boxes.float(), scores.float(), float(iou_threshold))
    if max_num > 0:
        keep = keep[:max_num]
    dets = torch.cat([boxes[keep], scores[keep, None]], dim=1)
    if valid is not None:
        keep = valid[keep]
    return dets, keep


def soft_nms_decay(iou, method, iou_threshold, sigma):
    """Soft-NMS score factors for IoUs with the selected box."""
    if method == 'linear':
        return torch.where(iou >= iou_threshold, 1 - iou, torch.ones_like(iou))
    if method == 'gaussian':
        return torch.exp(-(iou * iou) / sigma)
    return (iou < iou_threshold).to(iou.dtype)  # naive: hard NMS


def _soft_nms_rows(boxes, scores, alive, method, iou_threshold, sigma, min_score):
    """Soft-NMS on every row of (G, M, 4) boxes / (G, M) scores at once (rows
    never interact); ``alive`` marks the real entries.  Returns the (G*M,) flat
    positions of the kept entries and their decayed scores."""
    g, m = scores.shape
    x1, y1, x2, y2 = boxes.unbind(-1)
    areas = (x2 - x1) * (y2 - y1)
    rows = torch.arange(g, device=scores.device)
    cur = scores.clone()
    kept_pos, kept_scores = [], []
    neg_inf = scores.new_tensor(float('-inf'))
    while True:
        active = alive.any(1)
        n_active = int(active.sum())
        if n_active == 0:
            break
        if n_active <= rows.numel() // 2:  # drop finished rows so later steps cost less
            x1, y1, x2, y2, areas, cur, alive, rows = (t[active] for t in (x1, y1, x2, y2, areas, cur, alive, rows))
        best, j = torch.where(alive, cur, neg_inf).max(dim=1)
        live = best > neg_inf
        kept_pos.append((rows * m + j)[live])
        kept_scores.append(best[live])
        alive[torch.arange(rows.numel(), device=rows.device), j] = False
        pick = lambda t: t.gather(1, j[:, None])  # noqa: E731
        inter = ((torch.minimum(pick(x2), x2) - torch.maximum(pick(x1), x1)).clamp(min=0) *
                 (torch.minimum(pick(y2), y2) - torch.maximum(pick(y1), y1)).clamp(min=0))
        union = pick(areas) + areas - inter
        iou = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
        cur = torch.where(alive, cur * soft_nms_decay(iou, method, iou_threshold, sigma), cur)
        alive &= cur >= min_score
    return torch.cat(kept_pos), torch.cat(kept_scores)


def soft_nms(boxes, scores, iou_threshold=0.3, sigma=0.5, min_score=1e-3, method='linear', groups=None):
    """Soft-NMS (Bodla et al. 2017): decay, don't drop, overlapping boxes.

    Each step selects the highest remaining score and rescales every other
    remaining score by its box's IoU ``o`` with the selected one: ``linear``
    by ``1 - o`` where ``o >= iou_threshold``, ``gaussian`` by
    ``exp(-o^2 / sigma)``, ``naive`` by 0 where ``o >= iou_threshold``.  A box
    whose score falls under ``min_score`` is dropped.  (The rule of mmcv's CPU
    ``soft_nms``.)

    ``groups`` (n,) runs an independent soft-NMS per value (per class).  The
    groups advance together, one selection per group per step, so a step costs
    O(n) and the number of steps is the size of the largest group: memory is
    linear in n (no n x n IoU matrix) and there is no Python loop over classes.
    Groups of very different sizes are processed in chunks so that padding never
    exceeds about 2n entries.

    Returns ``dets`` (k, 5) carrying the decayed scores, sorted by them
    (descending), and ``keep`` (k,), the indices of the kept boxes.
    """
    if method not in ('linear', 'gaussian', 'naive'):
        raise ValueError(f"soft_nms method must be linear, gaussian or naive, got '{method}'")
    n = boxes.shape[0]
    if n == 0:
        return boxes.new_zeros((0, 5)), boxes.new_zeros((0,), dtype=torch.long)
    if groups is None:
        groups = boxes.new_zeros((n,), dtype=torch.long)
    _, inverse, counts = torch.unique(groups, return_inverse=True, return_counts=True)
    # groups largest first; a chunk of rows is padded to its first (largest) group
    group_order = torch.argsort(counts, descending=True, stable=True)
    sizes = counts[group_order].tolist()
    rank = torch.empty_like(group_order)
    rank[group_order] = torch.arange(group_order.numel(), device=group_order.device)
    by_rank = torch.argsort(rank[inverse], stable=True)  # boxes sorted by their group's rank
    starts = torch.zeros(len(sizes) + 1, dtype=torch.long, device=boxes.device)
    starts[1:] = counts[group_order].cumsum(0)  # first position of each group in ``by_rank``
    bounds = starts.tolist()
    budget = 2 * n
    keep_all, score_all = [], []
    first = 0
    while first < len(sizes):
        last = first + 1
        while last < len(sizes) and (last + 1 - first) * sizes[first] <= budget:
            last += 1
        idx = by_rank[bounds[first]:bounds[last]]
        row = rank[inverse[idx]] - first
        # position inside the group: global position in ``by_rank`` minus the group's start
        col = torch.arange(bounds[first], bounds[last], device=idx.device) - starts[row + first]
        g, m = last - first, sizes[first]
        src = torch.full((g, m), -1, dtype=torch.long, device=boxes.device)
        src[row, col] = idx
        padded_boxes = boxes.new_zeros((g, m, 4), dtype=torch.float32)
        padded_boxes[row, col] = boxes[idx].float()
        padded_scores = boxes.new_zeros((g, m), dtype=torch.float32)
        padded_scores[row, col] = scores[idx].float()
        pos, kept = _soft_nms_rows(padded_boxes, padded_scores, src >= 0, method, iou_threshold, sigma, min_score)
        keep_all.append(src.view(-1)[pos])
        score_all.append(kept)
        first = last
    kept, order = torch.cat(score_all).sort(descending=True, stable=True)
    keep = torch.cat(keep_all)[order]
    return torch.cat([boxes[keep], kept.to(boxes.dtype)[:, None]], dim=1), keep


NMS_OPS = {'nms': nms, 'soft_nms': soft_nms}


def batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic=False):
    """NMS within each class ``idxs``; ``nms_cfg`` is e.g. ``dict(type='nms', iou_threshold=0.6)``
    or ``dict(type='soft_nms', iou_threshold=0.65, min_score=1e-3, method='linear', split_thr=10000)``."""
    cfg = dict(nms_cfg)
    class_agnostic = cfg.pop('class_agnostic', class_agnostic)
    nms_type = cfg.pop('type', 'nms')
    split_thr = cfg.pop('split_thr', 10000)
    if nms_type not in NMS_OPS:
        raise KeyError(f"unknown nms type '{nms_type}' (known: {sorted(NMS_OPS)})")
    if 'iou_thr' in cfg:  # 1.x name
        cfg['iou_threshold'] = cfg.pop('iou_thr')
    if boxes.numel() == 0:
        return boxes.new_zeros((0, 5)), idxs.new_zeros((0,), dtype=torch.long)
    if nms_type == 'nms' and not cfg.get('score_threshold') and cfg.get('max_num', -1) <= 0:
        groups = torch.zeros_like(idxs) if class_agnostic else idxs
        keep = tv_batched_nms(boxes.float(), scores.float(), groups, float(cfg['iou_threshold']))
        return torch.cat([boxes[keep], scores[keep, None]], dim=1), keep
    if nms_type == 'soft_nms':
        dets, keep = soft_nms(boxes, scores, groups=None if class_agnostic else idxs, **cfg)
        if not class_agnostic and boxes.shape[0] >= split_thr:
            # The original (mmcv 1.2's batched_nms) ran soft-NMS class by class
            # once there were ``split_thr`` candidates or more, and then reported
            # the kept boxes with their scores from before the decay, sorted by
            # them; below ``split_thr`` the decayed scores.  Kept here so that
            # results match the original; ``split_thr=float('inf')`` in the nms
            # config gives decayed scores at every size (memory is linear anyway).
            keep = keep.sort().values
            order = scores[keep].argsort(descending=True, stable=True)
            keep = keep[order]
            dets = torch.cat([boxes[keep], scores[keep, None]], dim=1)
        return dets, keep
    if class_agnostic:
        boxes_for_nms = boxes
    else:
        offsets = idxs.to(boxes) * (boxes.max() + 1)
        boxes_for_nms = boxes + offsets[:, None]
    dets, keep = NMS_OPS[nms_type](boxes_for_nms, scores, **cfg)
    return torch.cat([boxes[keep], dets[:, -1:]], dim=1), keep
