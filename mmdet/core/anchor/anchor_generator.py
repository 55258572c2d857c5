"""Anchors and points on feature-map grids."""
import numpy as np
import torch
from torch.nn.modules.utils import _pair

from .builder import ANCHOR_GENERATORS, build_anchor_generator  # noqa: F401 (re-exported here as before)


def grid_points(featmap_size, stride, offset=0.0, dtype=torch.float32, device='cpu'):
    """(h*w, 2) ``(x, y)`` points at ``grid * stride + offset``, row-major."""
    h, w = featmap_size
    xs = torch.arange(0, w, device=device).to(dtype) * stride
    ys = torch.arange(0, h, device=device).to(dtype) * stride
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack((xx.reshape(-1), yy.reshape(-1)), dim=-1) + offset


def valid_grid_flags(featmap_size, valid_size, num_base_anchors=1, device='cpu'):
    """Which grid cells (x num_base_anchors) fall inside the un-padded image."""
    feat_h, feat_w = featmap_size
    valid_h, valid_w = valid_size
    valid_x = torch.arange(feat_w, device=device) < valid_w
    valid_y = torch.arange(feat_h, device=device) < valid_h
    valid = (valid_y[:, None] & valid_x[None, :]).reshape(-1)
    return valid[:, None].expand(valid.size(0), num_base_anchors).reshape(-1)


@ANCHOR_GENERATORS.register_module()
class AnchorGenerator:
    """2.x anchor generator: base anchors per level, shifted over the grid.

    ``center_offset=0`` puts anchor centres at ``grid * stride`` (as VFNet/ATSS
    use); 0.5 would put them at cell centres.
    """

    def __init__(self, strides, ratios, scales=None, base_sizes=None, scale_major=True,
                 octave_base_scale=None, scales_per_octave=None, centers=None, center_offset=0.):
        self.strides = [_pair(s) for s in strides]
        self.base_sizes = [min(s) for s in self.strides] if base_sizes is None else list(base_sizes)
        if len(self.base_sizes) != len(self.strides):
            raise ValueError('base_sizes and strides must have the same length')
        if (scales is None) == (octave_base_scale is None):
            raise ValueError('give either scales or octave_base_scale with scales_per_octave')
        if scales is not None:
            self.scales = torch.tensor(scales, dtype=torch.float32)
        else:
            octave = np.array([2 ** (i / scales_per_octave) for i in range(scales_per_octave)])
            self.scales = torch.tensor(octave * octave_base_scale, dtype=torch.float32)
        self.octave_base_scale, self.scales_per_octave = octave_base_scale, scales_per_octave
        self.ratios = torch.tensor(ratios, dtype=torch.float32)
        self.scale_major = scale_major
        self.centers = centers
        self.center_offset = center_offset
        self.base_anchors = [self._base_anchors(size, self.scales, self.ratios,
                                                None if centers is None else centers[i])
                             for i, size in enumerate(self.base_sizes)]

    @property
    def num_levels(self):
        return len(self.strides)

    @property
    def num_base_anchors(self):
        return [a.size(0) for a in self.base_anchors]

    def _base_anchors(self, base_size, scales, ratios, center=None):
        w = h = base_size
        if center is None:
            x_c, y_c = self.center_offset * w, self.center_offset * h
        else:
            x_c, y_c = center
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (w * w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (h * h_ratios[:, None] * scales[None, :]).view(-1)
        else:
            ws = (w * scales[:, None] * w_ratios[None, :]).view(-1)
            hs = (h * scales[:, None] * h_ratios[None, :]).view(-1)
        return torch.stack([x_c - 0.5 * ws, y_c - 0.5 * hs, x_c + 0.5 * ws, y_c + 0.5 * hs], dim=-1)

    def single_level_grid_anchors(self, base_anchors, featmap_size, stride=(16, 16), device='cpu'):
        shifts = grid_points(featmap_size, 1, device=device) * torch.tensor(stride, device=device)
        shifts = torch.cat([shifts, shifts], dim=1)
        return (base_anchors.to(device)[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def grid_anchors(self, featmap_sizes, device='cpu'):
        return [self.single_level_grid_anchors(self.base_anchors[i], featmap_sizes[i], self.strides[i], device)
                for i in range(self.num_levels)]

    def valid_flags(self, featmap_sizes, pad_shape, device='cpu'):
        flags = []
        for i, (fh, fw) in enumerate(featmap_sizes):
            sw, sh = self.strides[i]
            h, w = pad_shape[:2]
            valid = (min(int(np.ceil(h / sh)), fh), min(int(np.ceil(w / sw)), fw))
            flags.append(valid_grid_flags((fh, fw), valid, self.num_base_anchors[i], device))
        return flags


def anchor_inside_flags(flat_anchors, valid_flags, img_shape, allowed_border=0):
    """Valid anchors, and with ``allowed_border >= 0`` only those inside the image (+border)."""
    if allowed_border < 0:
        return valid_flags
    h, w = img_shape[:2]
    return (valid_flags & (flat_anchors[:, 0] >= -allowed_border) & (flat_anchors[:, 1] >= -allowed_border)
            & (flat_anchors[:, 2] < w + allowed_border) & (flat_anchors[:, 3] < h + allowed_border))


def images_to_levels(target, num_levels):
    """[per image (sum_levels, ...)] -> [per level (num_imgs, n_level, ...)]."""
    target = torch.stack(target, 0)
    out, start = [], 0
    for n in num_levels:
        out.append(target[:, start:start + n])
        start += n
    return out
