"""Box format conversions and test-time box mapping."""
import numpy as np
import torch


def distance2bbox(points, distance, max_shape=None):
    """(n, 2) points + (n, 4) ``(l, t, r, b)`` -> (n, 4) boxes, clamped to ``max_shape`` (h, w)."""
    x1 = points[..., 0] - distance[..., 0]
    y1 = points[..., 1] - distance[..., 1]
    x2 = points[..., 0] + distance[..., 2]
    y2 = points[..., 1] + distance[..., 3]
    if max_shape is not None:
        h, w = max_shape[0], max_shape[1]
        x1, x2 = x1.clamp(min=0, max=w), x2.clamp(min=0, max=w)
        y1, y2 = y1.clamp(min=0, max=h), y2.clamp(min=0, max=h)
    return torch.stack([x1, y1, x2, y2], -1)


def bbox2distance(points, bbox, max_dis=None, eps=0.1):
    """Inverse of :func:`distance2bbox`; optionally clamped to ``max_dis - eps``."""
    left = points[..., 0] - bbox[..., 0]
    top = points[..., 1] - bbox[..., 1]
    right = bbox[..., 2] - points[..., 0]
    bottom = bbox[..., 3] - points[..., 1]
    d = torch.stack([left, top, right, bottom], -1)
    if max_dis is not None:
        d = d.clamp(min=0, max=max_dis - eps)
    return d


def bbox_flip(bboxes, img_shape, direction='horizontal'):
    """Flip (..., 4k) boxes (tensor or array) inside an image of ``img_shape`` (h, w); x' = w - x as in 2.x."""
    flipped = bboxes.clone() if torch.is_tensor(bboxes) else bboxes.copy()
    h, w = img_shape[0], img_shape[1]
    if direction in ('horizontal', 'diagonal'):
        flipped[..., 0::4] = w - bboxes[..., 2::4]
        flipped[..., 2::4] = w - bboxes[..., 0::4]
    if direction in ('vertical', 'diagonal'):
        flipped[..., 1::4] = h - bboxes[..., 3::4]
        flipped[..., 3::4] = h - bboxes[..., 1::4]
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(f'unknown flip direction {direction!r}')
    return flipped


def bbox_mapping_back(bboxes, img_shape, scale_factor, flip, flip_direction='horizontal'):
    """Boxes of an augmented view back to the original image: unflip, then unscale."""
    new = bbox_flip(bboxes, img_shape, flip_direction) if flip else bboxes
    return new.view(-1, 4) / new.new_tensor(np.asarray(scale_factor, dtype=np.float32))


def bbox2result(bboxes, labels, num_classes):
    """(n, 5) dets + (n,) labels -> list over classes of (k, 5) float32 arrays."""
    if bboxes.shape[0] == 0:
        return [np.zeros((0, 5), dtype=np.float32) for _ in range(num_classes)]
    bboxes = bboxes.detach().cpu().numpy()
    labels = labels.detach().cpu().numpy()
    return [bboxes[labels == i, :] for i in range(num_classes)]
