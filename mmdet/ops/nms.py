"""NMS variants with the mmcv call convention: each returns ``(dets, keep)``
where ``dets`` is ``(k, 5)`` ``[x1, y1, x2, y2, score]`` sorted by score."""
import torch
from torchvision.ops import batched_nms as tv_batched_nms
from torchvision.ops import box_iou
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


def soft_nms(boxes, scores, iou_threshold=0.3, sigma=0.5, min_score=1e-3, method='linear'):
    """Soft-NMS (Bodla et al. 2017): decay, don't drop, overlapping boxes.

    ``method`` is ``linear`` (score *= 1 - IoU where IoU > thr), ``gaussian``
    (score *= exp(-IoU^2 / sigma)) or ``naive`` (hard NMS).  A box is dropped once
    its score falls under ``min_score``.  Each step is vectorised over the
    remaining boxes; boxes come out in selection order with decayed scores.
    """
    if method not in ('linear', 'gaussian', 'naive'):
        raise ValueError(f"soft_nms method must be linear, gaussian or naive, got '{method}'")
    n = boxes.shape[0]
    if n == 0:
        return boxes.new_zeros((0, 5)), boxes.new_zeros((0,), dtype=torch.long)
    ious = box_iou(boxes.float(), boxes.float())
    cur = scores.float().clone()
    alive = torch.ones(n, dtype=torch.bool, device=boxes.device)
    keep, kept_scores = [], []
    neg_inf = torch.tensor(float('-inf'), device=boxes.device)
    for _ in range(n):
        masked = torch.where(alive, cur, neg_inf)
        i = int(masked.argmax())
        if not bool(alive[i]):
            break
        keep.append(i)
        kept_scores.append(cur[i])
        alive[i] = False
        ov = ious[i]
        if method == 'linear':
            w = torch.where(ov > iou_threshold, 1 - ov, torch.ones_like(ov))
        elif method == 'gaussian':
            w = torch.exp(-(ov * ov) / sigma)
        else:
            w = (ov <= iou_threshold).float()
        cur = torch.where(alive, cur * w, cur)
        alive &= cur >= min_score
        if not bool(alive.any()):
            break
    keep = torch.tensor(keep, dtype=torch.long, device=boxes.device)
    dets = torch.cat([boxes[keep], torch.stack(kept_scores).to(boxes.dtype)[:, None]], dim=1)
    return dets, keep


NMS_OPS = {'nms': nms, 'soft_nms': soft_nms}


def batched_nms(boxes, scores, idxs, nms_cfg, class_agnostic=False):
    """NMS within each class ``idxs``; ``nms_cfg`` is e.g. ``dict(type='nms', iou_threshold=0.6)``."""
    cfg = dict(nms_cfg)
    class_agnostic = cfg.pop('class_agnostic', class_agnostic)
    nms_type = cfg.pop('type', 'nms')
    cfg.pop('split_thr', None)
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
    if class_agnostic:
        boxes_for_nms = boxes
    else:
        offsets = idxs.to(boxes) * (boxes.max() + 1)
        boxes_for_nms = boxes + offsets[:, None]
    dets, keep = NMS_OPS[nms_type](boxes_for_nms, scores, **cfg)
    return torch.cat([boxes[keep], dets[:, -1:]], dim=1), keep
