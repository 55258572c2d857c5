"""2.x's ``BucketingBBoxCoder``: side-aware boundary localisation (SABL, Wang et
al., "Side-Aware Boundary Localization for More Precise Object Detection",
ECCV 2020).

A prior box is enlarged ``scale_factor`` times about its centre and split into
``num_buckets`` buckets along x and along y.  Each of the four sides (left,
right, top, down) of the target box is located in two steps: *bucketing*,
which of the ``side_num = ceil(num_buckets / 2)`` buckets of its half of the
enlarged prior holds the side (left buckets counted from the left edge
inwards, right buckets from the right edge inwards, likewise top / down), and
*fine regression*, the side's offset from that bucket's centre in bucket
widths.

Layout of an encoded row (n, 4 * side_num): the left side's ``side_num``
values, then right, top, down.

- :func:`side_buckets` the bucket centres of each side of the priors;
- :func:`bbox2bucket` (encode) the targets and weights of both steps;
- :func:`bucket2bbox` (decode) boxes from bucket logits and offsets, plus the
  *bucketing-guided rescoring* confidence of each box.
"""
import math

import torch
import torch.nn.functional as F

from mmdet.utils.errors import InvalidArgumentError

from ..builder import BBOX_CODERS
from .base_bbox_coder import BaseBBoxCoder


def bbox_rescale(bboxes, scale_factor=1.0):
    """Boxes (n, 4) scaled ``scale_factor`` times about their centres; (n, 5)
    RoIs keep their leading batch-index column."""
    if bboxes.size(-1) == 5:
        return torch.cat([bboxes[:, :1], bbox_rescale(bboxes[:, 1:], scale_factor)], dim=1)
    cx, cy = (bboxes[..., 0] + bboxes[..., 2]) * 0.5, (bboxes[..., 1] + bboxes[..., 3]) * 0.5
    half_w = (bboxes[..., 2] - bboxes[..., 0]) * scale_factor * 0.5
    half_h = (bboxes[..., 3] - bboxes[..., 1]) * scale_factor * 0.5
    return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)


def side_buckets(priors, num_buckets, scale_factor=1.0):
    """Bucket sizes and bucket centres of the four sides of the priors.

    Args:
        priors (Tensor): (n, 4) boxes.
        num_buckets (int): buckets across the whole (enlarged) prior.
        scale_factor (float): the priors are enlarged this much first.

    Returns:
        tuple[Tensor]: ``bucket_w`` (n,), ``bucket_h`` (n,) and ``centres``
        (n, 4, side_num): per side (left, right, top, down) the coordinate of
        each of its buckets' centres, bucket 0 at the outer edge.
    """
    rescaled = bbox_rescale(priors, scale_factor)
    side_num = int(math.ceil(num_buckets / 2.0))
    bucket_w = (rescaled[:, 2] - rescaled[:, 0]) / num_buckets
    bucket_h = (rescaled[:, 3] - rescaled[:, 1]) / num_buckets
    steps = torch.arange(side_num, device=priors.device, dtype=rescaled.dtype) + 0.5  # (side_num,)
    sizes = torch.stack([bucket_w, -bucket_w, bucket_h, -bucket_h], dim=1)  # inwards from each edge
    edges = rescaled[:, [0, 2, 1, 3]]  # x1, x2, y1, y2
    centres = edges[:, :, None] + steps[None, None, :] * sizes[:, :, None]
    return bucket_w, bucket_h, centres


def bbox2bucket(proposals, gt, num_buckets, scale_factor, offset_topk=2, offset_upperbound=1.0,
                cls_ignore_neighbor=True):
    """Bucketing and fine-regression targets of ``gt`` boxes w.r.t. ``proposals``.

    Args:
        proposals (Tensor): (n, 4) priors.
        gt (Tensor): (n, 4) their target boxes.
        num_buckets (int), scale_factor (float): see :func:`side_buckets`.
        offset_topk (int): the offsets of the ``offset_topk`` buckets nearest
            to each side are trained.
        offset_upperbound (float): a bucket other than the nearest one trains
            its offset only when it is below this (in bucket widths).
        cls_ignore_neighbor (bool): the bucket classification ignores the
            other buckets within one bucket width of the side (weight 0).

    Returns:
        tuple[Tensor]: each (n, 4 * side_num): ``offsets`` (bucket centre minus
        the side, in bucket widths), ``offset_weights`` (1 at the nearest
        bucket, and at the next ``offset_topk - 1`` nearest ones whose offset
        is below ``offset_upperbound``), ``bucket_labels`` (one-hot of the
        nearest bucket) and ``bucket_weights``.
    """
    if proposals.shape != gt.shape or proposals.size(-1) != 4:
        raise InvalidArgumentError(f'bbox2bucket: proposals {tuple(proposals.shape)} and gt {tuple(gt.shape)} '
                                   'must both be (n, 4)')
    proposals, gt = proposals.float(), gt.float()
    n = proposals.size(0)
    bucket_w, bucket_h, centres = side_buckets(proposals, num_buckets, scale_factor)
    sizes = torch.stack([bucket_w, bucket_w, bucket_h, bucket_h], dim=1)  # (n, 4)
    sides = gt[:, [0, 2, 1, 3]]  # x1, x2, y1, y2
    offsets = (centres - sides[:, :, None]) / sizes[:, :, None]  # (n, 4, side_num)

    dist, nearest = offsets.abs().topk(offset_topk, dim=2, largest=False, sorted=True)  # (n, 4, k)
    keep = dist < offset_upperbound
    keep[..., 0] = True  # the nearest bucket always regresses
    offset_weights = torch.zeros_like(offsets).scatter_(2, nearest, keep.to(offsets.dtype))

    bucket_labels = F.one_hot(nearest[..., 0], offsets.size(2)).to(offsets.dtype)  # (n, 4, side_num)
    if cls_ignore_neighbor:
        bucket_weights = 1.0 - ((offsets.abs() < 1) & (bucket_labels == 0)).to(offsets.dtype)
    else:
        bucket_weights = torch.ones_like(offsets)
    return tuple(t.reshape(n, -1) for t in (offsets, offset_weights, bucket_labels, bucket_weights))


def bucket2bbox(proposals, cls_preds, offset_preds, num_buckets, scale_factor=1.0, max_shape=None,
                clip_border=True):
    """Boxes from bucket logits and offsets (the inverse of :func:`bbox2bucket`).

    Args:
        proposals (Tensor): (n, 4) priors.
        cls_preds (Tensor): (n, 4 * side_num) bucket logits (softmax per side).
        offset_preds (Tensor): (n, 4 * side_num) offsets in bucket widths.
        num_buckets (int), scale_factor (float): see :func:`side_buckets`.
        max_shape (tuple | None): (h, w[, c]); with ``clip_border`` the boxes
            are clamped to [0, w - 1] x [0, h - 1] (as 2.x).
        clip_border (bool): clamp to ``max_shape``.

    Returns:
        tuple[Tensor]: ``bboxes`` (n, 4) and ``loc_confidence`` (n,): per side
        the top bucket's probability, plus the second's when the two are
        neighbours, averaged over the four sides.
    """
    n = proposals.size(0)
    side_num = int(math.ceil(num_buckets / 2.0))
    if cls_preds.shape != (n, 4 * side_num) or offset_preds.shape != (n, 4 * side_num):
        raise InvalidArgumentError(f'bucket2bbox: {n} proposals need (n, {4 * side_num}) predictions, got '
                                   f'{tuple(cls_preds.shape)} and {tuple(offset_preds.shape)}')
    scores = F.softmax(cls_preds.reshape(n, 4, side_num), dim=2)
    top_scores, top_labels = scores.topk(2, dim=2, largest=True, sorted=True)  # (n, 4, 2)
    bucket_w, bucket_h, centres = side_buckets(proposals, num_buckets, scale_factor)
    sizes = torch.stack([bucket_w, bucket_w, bucket_h, bucket_h], dim=1)  # (n, 4)
    best = top_labels[..., :1]
    centre = centres.gather(2, best).squeeze(2)
    offset = offset_preds.reshape(n, 4, side_num).gather(2, best).squeeze(2)
    sides = centre - offset * sizes  # (n, 4): x1, x2, y1, y2
    if clip_border and max_shape is not None:
        limit = sides.new_tensor([max_shape[1] - 1, max_shape[1] - 1, max_shape[0] - 1, max_shape[0] - 1])
        sides = torch.min(sides.clamp(min=0), limit)
    bboxes = sides[:, [0, 2, 1, 3]]

    neighbours = (top_labels[..., 0] - top_labels[..., 1]).abs() == 1
    loc_confidence = (top_scores[..., 0] + top_scores[..., 1] * neighbours.to(top_scores.dtype)).mean(dim=1)
    return bboxes, loc_confidence


@BBOX_CODERS.register_module()
class BucketingBBoxCoder(BaseBBoxCoder):
    """Side-aware bucketing of boxes (SABL), 2.x's ``BucketingBBoxCoder``.

    Args:
        num_buckets (int): buckets across the enlarged prior (``side_num =
            ceil(num_buckets / 2)`` per side).
        scale_factor (float): how much the priors are enlarged.
        offset_topk (int): buckets per side whose offsets are trained.
        offset_upperbound (float): the largest offset (bucket widths) a
            non-nearest bucket trains.
        cls_ignore_neighbor (bool): ignore the nearest bucket's neighbours in
            the bucket classification.
        clip_border (bool): clamp decoded boxes to the image.

    ``encode(bboxes, gt_bboxes)`` -> ``(offsets, offset_weights,
    bucket_labels, bucket_weights)`` (:func:`bbox2bucket`);
    ``decode(bboxes, (cls_preds, offset_preds), max_shape)`` -> ``(bboxes,
    loc_confidence)`` (:func:`bucket2bbox`).
    """

    def __init__(self, num_buckets, scale_factor, offset_topk=2, offset_upperbound=1.0, cls_ignore_neighbor=True,
                 clip_border=True):
        if not (isinstance(num_buckets, int) and num_buckets >= 3):
            raise InvalidArgumentError(f'BucketingBBoxCoder num_buckets must be an int >= 3 (two buckets per '
                                       f'side at least), got {num_buckets!r}')
        side_num = int(math.ceil(num_buckets / 2.0))
        if not (isinstance(offset_topk, int) and 1 <= offset_topk <= side_num):
            raise InvalidArgumentError(f'BucketingBBoxCoder offset_topk must be an int in [1, {side_num}] '
                                       f'(buckets per side), got {offset_topk!r}')
        if not scale_factor > 0:
            raise InvalidArgumentError(f'BucketingBBoxCoder scale_factor must be > 0, got {scale_factor!r}')
        self.num_buckets, self.scale_factor = num_buckets, scale_factor
        self.side_num = side_num
        self.offset_topk, self.offset_upperbound = offset_topk, offset_upperbound
        self.cls_ignore_neighbor, self.clip_border = cls_ignore_neighbor, clip_border

    def encode(self, bboxes, gt_bboxes):
        """Targets of ``gt_bboxes`` (n, 4) at ``bboxes`` (n, 4); see :func:`bbox2bucket`."""
        return bbox2bucket(bboxes, gt_bboxes, self.num_buckets, self.scale_factor, self.offset_topk,
                           self.offset_upperbound, self.cls_ignore_neighbor)

    def decode(self, bboxes, pred_bboxes, max_shape=None):
        """``pred_bboxes`` = (cls_preds, offset_preds), each (n, 4 * side_num); see :func:`bucket2bbox`."""
        if len(pred_bboxes) != 2:
            raise InvalidArgumentError('BucketingBBoxCoder.decode takes pred_bboxes = (cls_preds, offset_preds)')
        cls_preds, offset_preds = pred_bboxes
        return bucket2bbox(bboxes, cls_preds, offset_preds, self.num_buckets, self.scale_factor, max_shape,
                           self.clip_border)
