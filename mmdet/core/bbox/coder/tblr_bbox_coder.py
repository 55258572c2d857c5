"""2.x's ``TBLRBBoxCoder`` (FSAF): boxes as (top, bottom, left, right) distances from the prior's centre."""
import torch

from ..builder import BBOX_CODERS
from .base_bbox_coder import BaseBBoxCoder


def _normalizer(normalizer, ref):
    if isinstance(normalizer, (int, float)):
        return float(normalizer)
    normalizer = ref.new_tensor(normalizer)
    if normalizer.numel() != 4:
        raise ValueError(f'TBLRBBoxCoder normalizer must be a number or 4 numbers, got {normalizer.tolist()}')
    return normalizer


def bboxes2tblr(priors, gts, normalizer=4.0, normalize_by_wh=True):
    """Encode gt boxes (n, 4) as (top, bottom, left, right) distances from the
    centres of ``priors`` (n, 4), divided by the prior's height (t, b) / width
    (l, r) when ``normalize_by_wh``, then by ``normalizer``; (n, 4)."""
    if priors.shape != gts.shape:
        raise ValueError(f'bboxes2tblr: priors {tuple(priors.shape)} and gts {tuple(gts.shape)} differ')
    cx, cy = (priors[..., 0] + priors[..., 2]) / 2, (priors[..., 1] + priors[..., 3]) / 2
    loc = torch.stack([cy - gts[..., 1], gts[..., 3] - cy, cx - gts[..., 0], gts[..., 2] - cx], dim=-1)
    if normalize_by_wh:
        w, h = priors[..., 2] - priors[..., 0], priors[..., 3] - priors[..., 1]
        loc = loc / torch.stack([h, h, w, w], dim=-1)
    return loc / _normalizer(normalizer, loc)


def tblr2bboxes(priors, tblr, normalizer=4.0, normalize_by_wh=True, max_shape=None, clip_border=True):
    """Decode (n, 4) (top, bottom, left, right) outputs at ``priors`` (n, 4)
    into (x1, y1, x2, y2) boxes (n, 4), clamped to ``max_shape`` (h, w)."""
    if priors.shape[:-1] != tblr.shape[:-1]:
        raise ValueError(f'tblr2bboxes: priors {tuple(priors.shape)} and tblr {tuple(tblr.shape)} differ')
    loc = tblr * _normalizer(normalizer, tblr)
    if normalize_by_wh:
        w, h = priors[..., 2] - priors[..., 0], priors[..., 3] - priors[..., 1]
        loc = loc * torch.stack([h, h, w, w], dim=-1)
    cx, cy = (priors[..., 0] + priors[..., 2]) / 2, (priors[..., 1] + priors[..., 3]) / 2
    x1, x2 = cx - loc[..., 2], cx + loc[..., 3]
    y1, y2 = cy - loc[..., 0], cy + loc[..., 1]
    if clip_border and max_shape is not None:
        x1, x2 = x1.clamp(min=0, max=max_shape[1]), x2.clamp(min=0, max=max_shape[1])
        y1, y2 = y1.clamp(min=0, max=max_shape[0]), y2.clamp(min=0, max=max_shape[0])
    return torch.stack([x1, y1, x2, y2], dim=-1)


@BBOX_CODERS.register_module()
class TBLRBBoxCoder(BaseBBoxCoder):
    """2.x's ``TBLRBBoxCoder``: boxes as normalised (top, bottom, left, right)
    distances from the prior's centre (see :func:`bboxes2tblr`).

    Args:
        normalizer (float | list[float]): divisor of the encoded distances
            (one for all, or one per t, b, l, r).
        clip_border (bool): clamp decoded boxes to ``max_shape``.
    """

    def __init__(self, normalizer=4.0, clip_border=True):
        self.normalizer, self.clip_border = normalizer, clip_border

    def encode(self, bboxes, gt_bboxes):
        return bboxes2tblr(bboxes, gt_bboxes, normalizer=self.normalizer)

    def decode(self, bboxes, pred_bboxes, max_shape=None):
        return tblr2bboxes(bboxes, pred_bboxes, normalizer=self.normalizer, max_shape=max_shape,
                           clip_border=self.clip_border)
