import torch


def bbox_overlaps(bboxes1, bboxes2, mode='iou', is_aligned=False, eps=1e-6):
    """IoU / IoF / GIoU of ``(..., m, 4)`` vs ``(..., n, 4)`` boxes ``[x1, y1, x2, y2]``.

    Returns ``(..., m, n)``, or ``(..., m)`` when ``is_aligned`` (m == n).
    Unions and enclosing areas are floored at ``eps``.
    """
    if mode not in ('iou', 'iof', 'giou'):
        raise ValueError(f"mode must be 'iou', 'iof' or 'giou', got '{mode}'")
    if bboxes1.size(-1) not in (0, 4) or bboxes2.size(-1) not in (0, 4):
        raise ValueError(f'boxes must have 4 coordinates, got {tuple(bboxes1.shape)} and {tuple(bboxes2.shape)}')
    rows, cols = bboxes1.size(-2), bboxes2.size(-2)
    batch = bboxes1.shape[:-2]
    if is_aligned and rows != cols:
        raise ValueError(f'aligned boxes must match in number, got {rows} and {cols}')
    if rows * cols == 0:
        return bboxes1.new_zeros(batch + ((rows,) if is_aligned else (rows, cols)))
    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])
    if is_aligned:
        b1, b2, a1, a2 = bboxes1, bboxes2, area1, area2
    else:
        b1, b2 = bboxes1[..., :, None, :], bboxes2[..., None, :, :]
        a1, a2 = area1[..., :, None], area2[..., None, :]
    lt = torch.max(b1[..., :2], b2[..., :2])
    rb = torch.min(b1[..., 2:], b2[..., 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = a1 + a2 - overlap if mode in ('iou', 'giou') else a1
    eps_t = union.new_tensor([eps])
    union = torch.max(union, eps_t)
    ious = overlap / union
    if mode != 'giou':
        return ious
    enclose_wh = (torch.max(b1[..., 2:], b2[..., 2:]) - torch.min(b1[..., :2], b2[..., :2])).clamp(min=0)
    enclose_area = torch.max(enclose_wh[..., 0] * enclose_wh[..., 1], eps_t)
    return ious - (enclose_area - union) / enclose_area
