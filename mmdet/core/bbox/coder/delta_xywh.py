"""(dx, dy, dw, dh) deltas between boxes, normalised by ``means``/``stds`` (R-CNN style)."""
import numpy as np
import torch

from ..builder import BBOX_CODERS, build_bbox_coder  # noqa: F401 (re-exported here as before)
from .base_bbox_coder import BaseBBoxCoder


@BBOX_CODERS.register_module()
class DeltaXYWHBBoxCoder(BaseBBoxCoder):

    def __init__(self, target_means=(0., 0., 0., 0.), target_stds=(1., 1., 1., 1.), clip_border=True):
        self.means, self.stds, self.clip_border = target_means, target_stds, clip_border

    def encode(self, bboxes, gt_bboxes):
        """Deltas that turn ``bboxes`` (n, 4) into ``gt_bboxes`` (n, 4)."""
        px, py = (bboxes[..., 0] + bboxes[..., 2]) * 0.5, (bboxes[..., 1] + bboxes[..., 3]) * 0.5
        pw, ph = bboxes[..., 2] - bboxes[..., 0], bboxes[..., 3] - bboxes[..., 1]
        gx, gy = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) * 0.5, (gt_bboxes[..., 1] + gt_bboxes[..., 3]) * 0.5
        gw, gh = gt_bboxes[..., 2] - gt_bboxes[..., 0], gt_bboxes[..., 3] - gt_bboxes[..., 1]
        deltas = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1)
        return deltas.sub_(deltas.new_tensor(self.means)).div_(deltas.new_tensor(self.stds))

    def decode(self, bboxes, deltas, max_shape=None, wh_ratio_clip=16 / 1000):
        """Apply (n, 4) ``deltas`` to ``bboxes``; clamp to ``max_shape`` (h, w)."""
        d = deltas * deltas.new_tensor(self.stds) + deltas.new_tensor(self.means)
        max_ratio = np.abs(np.log(wh_ratio_clip))
        dw, dh = d[..., 2].clamp(-max_ratio, max_ratio), d[..., 3].clamp(-max_ratio, max_ratio)
        px, py = (bboxes[..., 0] + bboxes[..., 2]) * 0.5, (bboxes[..., 1] + bboxes[..., 3]) * 0.5
        pw, ph = bboxes[..., 2] - bboxes[..., 0], bboxes[..., 3] - bboxes[..., 1]
        gw, gh = pw * dw.exp(), ph * dh.exp()
        gx, gy = px + pw * d[..., 0], py + ph * d[..., 1]
        x1, y1, x2, y2 = gx - gw * 0.5, gy - gh * 0.5, gx + gw * 0.5, gy + gh * 0.5
        if self.clip_border and max_shape is not None:
            x1, x2 = x1.clamp(min=0, max=max_shape[1]), x2.clamp(min=0, max=max_shape[1])
            y1, y2 = y1.clamp(min=0, max=max_shape[0]), y2.clamp(min=0, max=max_shape[0])
        return torch.stack([x1, y1, x2, y2], dim=-1)
