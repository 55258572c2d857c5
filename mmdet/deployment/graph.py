"""The whole detector as one traceable function: image in, ``dets``/``labels`` out.

:class:`DeployDetector` wraps a built detector for ``torch.onnx.export``.  Its
inputs are the pre-processed image ``input`` (1, 3, H, W), ``img_shape``
(2,) = (h, w) of the resized image inside the padding, and ``scale_factor`` (4,)
of the resize; its outputs are ``dets`` (N, 5) ``[x1, y1, x2, y2, score]`` in
original-image pixels and ``labels`` (N,), exactly what ``simple_test`` computes:
the same top-``nms_pre`` selection per level, the same clamping to ``img_shape``,
rescaling before NMS, and the same NMS.

Everything data-dependent is written with tensor ops that export: ``min`` of a
symbolic size for top-k, ``nonzero`` for the score threshold, the class-offset
trick with one ``nms`` for hard NMS, and a ``while_loop`` (an ONNX ``Loop``) for
soft-NMS, which advances every class at once as :func:`mmdet.ops.soft_nms` does.
"""
import torch
import torch.nn as nn
import torchvision
from torch._higher_order_ops.while_loop import while_loop

from mmdet.core import distance2bbox, grid_points
from mmdet.ops.nms import soft_nms_decay

SUPPORTED_HEADS = ('VFNetHead', 'VFNetRawHead')


class DeployDetector(nn.Module):

    def __init__(self, detector):
        super().__init__()
        head = detector.bbox_head
        if type(head).__name__ not in SUPPORTED_HEADS:
            raise NotImplementedError(f'ONNX export supports the VFNet heads ({", ".join(SUPPORTED_HEADS)}); '
                                      f'this model has {type(head).__name__}')
        self.detector = detector.eval()
        self.cfg = dict(head.test_cfg)

    def forward(self, img, img_shape, scale_factor):
        det = self.detector
        head = det.bbox_head
        outs = head(det.extract_feat(img))
        cls_scores, boxes_out = outs[0], outs[-1]  # VFNet: refined boxes; raw: initial boxes
        nms_pre = self.cfg.get('nms_pre', -1)
        boxes, scores = [], []
        for cls, reg, stride in zip(cls_scores, boxes_out, head.strides):
            h, w = cls.shape[-2:]
            offset = stride * head.anchor_center_offset if head.use_atss else stride // 2  # as VFNetHead.get_points
            points = grid_points((h, w), stride, offset, img.dtype, img.device)
            s = cls[0].permute(1, 2, 0).reshape(-1, head.cls_out_channels).sigmoid()
            d = reg[0].permute(1, 2, 0).reshape(-1, 4)
            if nms_pre > 0:
                _, top = s.max(dim=1).values.topk(min(nms_pre, s.shape[0]))
                points, d, s = points[top], d[top], s[top]
            boxes.append(clamp_to(distance2bbox(points, d), img_shape))
            scores.append(s)
        boxes = torch.cat(boxes) / scale_factor
        return multiclass_nms_graph(boxes, torch.cat(scores), self.cfg['score_thr'], self.cfg['nms'],
                                    self.cfg.get('max_per_img', -1))


def clamp_to(boxes, img_shape):
    """Clamp (n, 4) boxes to [0, w] x [0, h] with ``img_shape`` a tensor (h, w)."""
    h, w = img_shape[0].to(boxes.dtype), img_shape[1].to(boxes.dtype)
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([x1.clamp(min=0).minimum(w), y1.clamp(min=0).minimum(h),
                        x2.clamp(min=0).minimum(w), y2.clamp(min=0).minimum(h)], -1)


def multiclass_nms_graph(boxes, scores, score_thr, nms_cfg, max_num):
    """:func:`mmdet.core.multiclass_nms` for one image, in exportable ops.

    ``boxes`` (n, 4) shared by the classes, ``scores`` (n, C) without the
    background column.  Returns ``dets`` (k, 5) sorted by score and ``labels`` (k,)."""
    cfg = dict(nms_cfg)
    nms_type = cfg.pop('type', 'nms')
    iou_thr = float(cfg.pop('iou_threshold', cfg.pop('iou_thr', 0.5)))
    if nms_type == 'nms':
        num_classes = scores.shape[1]
        flat = scores.reshape(-1)
        idx = (flat > score_thr).nonzero().squeeze(1)
        cand, cand_scores, labels = boxes[idx // num_classes], flat[idx], idx % num_classes
        # classes never overlap once shifted apart by more than the largest coordinate
        shift = (labels.to(boxes.dtype) * (boxes.max() + 1))[:, None]
        keep = torchvision.ops.nms(cand + shift, cand_scores, iou_thr)
        if max_num > 0:
            keep = keep[:max_num]
        return torch.cat([cand[keep], cand_scores[keep, None]], 1), labels[keep]
    if nms_type == 'soft_nms':
        return soft_nms_graph(boxes, scores, score_thr, iou_thr, max_num, **cfg)
    raise NotImplementedError(f"ONNX export of nms type '{nms_type}' (supported: nms, soft_nms)")


def soft_nms_graph(boxes, scores, score_thr, iou_threshold, max_num, sigma=0.5, min_score=1e-3, method='linear',
                   split_thr=10000):
    """Soft-NMS per class as :func:`mmdet.ops.soft_nms` with ``groups`` = classes
    and the split rule of :func:`mmdet.ops.batched_nms`.  Row c of the (C, n)
    working set is class c over all n boxes; one loop step selects the best
    remaining box of every class and decays the others of that class."""
    if method not in ('linear', 'gaussian', 'naive'):
        raise ValueError(f"soft_nms method must be linear, gaussian or naive, got '{method}'")
    rows = scores.t().contiguous()  # (C, n)
    alive = rows > score_thr
    num_candidates = alive.sum()
    x1, y1, x2, y2 = (boxes[:, i].contiguous().clone() for i in range(4))
    areas = (x2 - x1) * (y2 - y1)

    def cond(alive, cur, kept):
        return alive.any()

    def body(alive, cur, kept):
        best, j = torch.where(alive, cur, torch.full_like(cur, -1.0)).max(dim=1)
        live = best >= 0
        chosen = (torch.arange(cur.shape[1], device=cur.device)[None, :] == j[:, None]) & live[:, None]
        kept = kept | chosen
        alive = alive & ~chosen
        bx1, by1, bx2, by2, barea = x1[j][:, None], y1[j][:, None], x2[j][:, None], y2[j][:, None], areas[j][:, None]
        inter = ((torch.minimum(bx2, x2) - torch.maximum(bx1, x1)).clamp(min=0) *
                 (torch.minimum(by2, y2) - torch.maximum(by1, y1)).clamp(min=0))
        union = barea + areas - inter
        iou = torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))
        weight = soft_nms_decay(iou, method, iou_threshold, sigma)
        cur = torch.where(alive, cur * weight, cur)
        alive = alive & (cur >= min_score)
        return alive.clone(), cur.clone(), kept.clone()

    _, decayed, kept = while_loop(cond, body, (alive, rows.clone(), torch.zeros_like(alive)))
    # from split_thr candidates on, the original reported the scores from before the decay
    final = torch.where(num_candidates >= split_thr, rows, decayed)
    where = kept.nonzero()  # (k, 2) [class, box], class-major, boxes ascending
    labels, box_idx = where[:, 0], where[:, 1]
    kept_scores = final[labels, box_idx]
    # ONNX TopK breaks ties by the lower index, i.e. stably
    k = kept_scores.shape[0] if max_num <= 0 else min(max_num, kept_scores.shape[0])
    top_scores, order = kept_scores.topk(k)
    return torch.cat([boxes[box_idx[order]], top_scores[:, None]], 1), labels[order]
