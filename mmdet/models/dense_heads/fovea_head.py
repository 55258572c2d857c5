"""FoveaBox head (Kong et al. 2020), with the Varifocal Loss option of the VFNet paper.

Each gt goes to the pyramid levels whose ``scale_ranges`` hold sqrt(area);
the cells of its central "fovea" (a ``sigma`` fraction of the box) are its
positives.  A cell (i, j) sits at ((j + 0.5) * stride, (i + 0.5) * stride);
box targets are log((x - x1) / base_len, (y - y1) / base_len, (x2 - x) / base_len,
(y2 - y) / base_len), clamped to [1/16, 16] before the log.  With Varifocal
Loss (``use_vfl=True`` and ``loss_cls_vfl``, or ``loss_cls`` a VarifocalLoss)
the classification target of a positive is the IoU of its decoded box with its
gt box, clamped to at least 1e-6.

``with_deform=True`` is FoveaBox-align (the ``fovea_align_*`` configs): the
classification branch no longer has its own tower; the input feature is
re-sampled by a deformable 3x3 conv whose offsets a 1x1 conv predicts from the
exponentiated box output (:class:`FeatureAlign`, ``feature_adaption``), then a
3x3 conv to ``4 * feat_channels`` and a 1x1 conv (both with ``norm_cfg``) feed
``conv_cls`` -- the layout and semantics of MMDetection 2.10's FoveaHead.
"""
import torch
import torch.nn as nn

from mmdet.core import bbox_overlaps
from mmdet.ops import Conv2d, ConvModule, DeformConv2d, bias_init_with_prob, normal_init

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections, select_vfl
from .prior_targets import levels_first


def fovea_level_targets(gt_bboxes, gt_labels, featmap_size, stride, base_len, scale_range, sigma, num_classes):
    """One image, one level: labels (H*W,), log-space box targets (H*W, 4) and
    the matched gt boxes (H*W, 4) (ones where there is none).

    Vectorised over gts: where foveae overlap, the smallest gt wins (the
    original painted gts from the largest down)."""
    h, w = featmap_size
    labels = gt_labels.new_full((h, w), num_classes)
    targets = gt_bboxes.new_ones((h, w, 4))
    matched = gt_bboxes.new_ones((h, w, 4))
    areas = torch.sqrt((gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1]))
    hit = ((areas >= scale_range[0]) & (areas <= scale_range[1])).nonzero().flatten()
    if hit.numel():
        hit = hit[torch.sort(-areas[hit])[1]]  # largest first: later (smaller) ones paint over
        raw = gt_bboxes[hit]
        b = raw / stride
        half_w, half_h = 0.5 * (b[:, 2] - b[:, 0]), 0.5 * (b[:, 3] - b[:, 1])
        left = torch.ceil(b[:, 0] + (1 - sigma) * half_w - 0.5).long().clamp(0, w - 1)
        right = torch.floor(b[:, 0] + (1 + sigma) * half_w - 0.5).long().clamp(0, w - 1)
        top = torch.ceil(b[:, 1] + (1 - sigma) * half_h - 0.5).long().clamp(0, h - 1)
        down = torch.floor(b[:, 1] + (1 + sigma) * half_h - 0.5).long().clamp(0, h - 1)
        ys = torch.arange(h, device=b.device)[None, :, None]
        xs = torch.arange(w, device=b.device)[None, None, :]
        cover = ((ys >= top[:, None, None]) & (ys <= down[:, None, None]) &
                 (xs >= left[:, None, None]) & (xs <= right[:, None, None]))  # (G, H, W)
        order = torch.arange(len(hit), device=b.device)[:, None, None]
        winner = torch.where(cover, order, order.new_full((), -1)).max(dim=0).values  # (H, W)
        pos = winner >= 0
        g = winner[pos]
        labels[pos] = gt_labels[hit][g]
        py, px = pos.nonzero(as_tuple=True)
        px, py = (px.to(raw.dtype) + 0.5) * stride, (py.to(raw.dtype) + 0.5) * stride
        targets[pos] = torch.stack([(px - raw[g, 0]) / base_len, (py - raw[g, 1]) / base_len,
                                    (raw[g, 2] - px) / base_len, (raw[g, 3] - py) / base_len], dim=1)
        targets = targets.clamp(min=1. / 16, max=16.)
        matched[pos] = raw[g]
    return labels.reshape(-1), torch.log(targets).reshape(-1, 4), matched.reshape(-1, 4)


class FeatureAlign(nn.Module):
    """Box-guided feature alignment of FoveaBox-align.

    ``conv_offset`` (1x1, no bias) maps the (N, 4, H, W) box "shape" (the
    exponentiated box output: distances to the four sides in units of the
    level's ``base_len``) to (N, deform_groups * 2 * k * k, H, W) offsets of
    ``conv_adaption``, a k x k deformable conv (no bias) applied to the (N, C_in,
    H, W) feature, followed by ReLU.  The offsets are not detached: the
    classification loss also trains the box branch through them, as in the
    original.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, deform_groups=4):
        super().__init__()
        offset_channels = kernel_size * kernel_size * 2
        self.conv_offset = Conv2d(4, deform_groups * offset_channels, 1, bias=False)
        self.conv_adaption = DeformConv2d(in_channels, out_channels, kernel_size=kernel_size,
                                          padding=(kernel_size - 1) // 2, deform_groups=deform_groups)
        self.relu = nn.ReLU(inplace=True)

    def init_weights(self):
        normal_init(self.conv_offset, std=0.1)
        normal_init(self.conv_adaption, std=0.01)

    def forward(self, x, shape):
        """``x`` (N, C_in, H, W), ``shape`` (N, 4, H, W) -> (N, C_out, H, W)."""
        return self.relu(self.conv_adaption(x, self.conv_offset(shape)))


@HEADS.register_module()
class FoveaHead(BaseDenseHead):
    """FoveaBox head: per level a classifier ``conv_cls`` (N, num_classes, H, W)
    and log-space box distances ``conv_reg`` (N, 4, H, W), each after a tower
    of ``stacked_convs`` 3x3 convs; with ``with_deform=True`` the classifier
    sits on :class:`FeatureAlign` + a 3x3 conv (to ``4 * feat_channels``) + a
    1x1 conv instead of its tower (``deform_groups`` groups of offsets).
    """

    def __init__(self, num_classes, in_channels, feat_channels=256, stacked_convs=4, strides=(8, 16, 32, 64, 128),
                 base_edge_list=(16, 32, 64, 128, 256),
                 scale_ranges=((8, 32), (16, 64), (32, 128), (64, 256), (128, 512)), sigma=0.4, with_deform=False,
                 deform_groups=4, conv_cfg=None, norm_cfg=None,
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.50, alpha=0.4, loss_weight=1.0),
                 use_vfl=None,
                 loss_cls_vfl=dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                                   iou_weighted=True, loss_weight=1.0),
                 loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=1.0), train_cfg=None, test_cfg=None,
                 init_cfg=None):
        super().__init__()
        self.with_deform, self.deform_groups = with_deform, deform_groups
        self.num_classes, self.in_channels = num_classes, in_channels
        self.feat_channels, self.stacked_convs = feat_channels, stacked_convs
        self.strides, self.base_edge_list = list(strides), list(base_edge_list)
        self.scale_ranges, self.sigma = scale_ranges, sigma
        self.cls_out_channels = num_classes
        self.use_vfl, loss_cls = select_vfl('FoveaHead', loss_cls, use_vfl, loss_cls_vfl)
        self.loss_cls, self.loss_bbox = build_loss(loss_cls), build_loss(loss_bbox)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if not with_deform:
            self.cls_convs, self.reg_convs = (conv_tower(in_channels, feat_channels, stacked_convs, conv_cfg,
                                                         norm_cfg) for _ in range(2))
            self.conv_cls = Conv2d(feat_channels, self.cls_out_channels, 3, padding=1)
            self.conv_reg = Conv2d(feat_channels, 4, 3, padding=1)
        else:
            self.reg_convs = conv_tower(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg)
            self.conv_reg = Conv2d(feat_channels, 4, 3, padding=1)
            wide = feat_channels * 4
            self.cls_convs = nn.ModuleList([
                ConvModule(feat_channels, wide, 3, stride=1, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                           bias=norm_cfg is None),
                ConvModule(wide, wide, 1, stride=1, padding=0, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                           bias=norm_cfg is None)])
            self.feature_adaption = FeatureAlign(in_channels, feat_channels, kernel_size=3,
                                                 deform_groups=deform_groups)
            self.conv_cls = Conv2d(wide, self.cls_out_channels, 3, padding=1)
        self.init_weights()

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.conv_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.conv_reg, std=0.01)
        if self.with_deform:
            self.feature_adaption.init_weights()

    def forward(self, feats):
        outs = [self.forward_single(x) for x in feats]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x):
        """(N, C, H, W) -> ``cls_score`` (N, num_classes, H, W), ``bbox_pred`` (N, 4, H, W)."""
        cls_feat, reg_feat = x, x
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        bbox_pred = self.conv_reg(reg_feat)
        if self.with_deform:
            cls_feat = self.feature_adaption(cls_feat, bbox_pred.exp())
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        return self.conv_cls(cls_feat), bbox_pred

    @staticmethod
    def decode(centres, deltas, base_len, max_shape):
        """(n, 2) cell centres (x, y) in pixels and log-space deltas -> boxes
        clamped to ``[0, w - 1] x [0, h - 1]`` of ``max_shape``."""
        d = deltas.exp() * base_len
        x, y = centres[:, :1], centres[:, 1:]
        boxes = torch.cat([x - d[:, :1], y - d[:, 1:2], x + d[:, 2:3], y + d[:, 3:]], 1)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(min=0, max=max_shape[1] - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(min=0, max=max_shape[0] - 1)
        return boxes

    @staticmethod
    def cell_centres(featmap_size, stride, device):
        """(h*w, 2) pixel centres (x, y) of a level's cells, row-major."""
        h, w = featmap_size
        yy, xx = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                                torch.arange(w, device=device, dtype=torch.float32), indexing='ij')
        return (torch.stack([xx.reshape(-1), yy.reshape(-1)], -1) + 0.5) * stride

    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        num_imgs = cls_scores[0].size(0)
        per_img = []
        for b, l in zip(gt_bboxes, gt_labels):
            lv = [fovea_level_targets(b, l, fs, s, base, rng, self.sigma, self.num_classes)
                  for fs, s, base, rng in zip(featmap_sizes, self.strides, self.base_edge_list, self.scale_ranges)]
            per_img.append([torch.cat([x[k] for x in lv]) for k in range(3)])
        counts = [c.shape[-2] * c.shape[-1] for c in cls_scores]
        labels, targets, matched = (levels_first([p[k] for p in per_img], counts) for k in range(3))
        flat_cls = torch.cat([c.float().permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        flat_reg = torch.cat([b.float().permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero().view(-1)
        num_pos = pos.numel()
        if self.use_vfl:
            centres = torch.cat([self.cell_centres(fs, s, flat_cls.device).repeat(num_imgs, 1)
                                 for fs, s in zip(featmap_sizes, self.strides)])
            bases = torch.cat([flat_cls.new_full((fs[0] * fs[1] * num_imgs, 1), float(b))
                               for fs, b in zip(featmap_sizes, self.base_edge_list)])
            # as in the original, every image's boxes are clamped to the first
            # image's shape before their IoU with the gt is taken
            boxes = self.decode(centres[pos], flat_reg[pos].detach(), bases[pos], img_metas[0]['img_shape'])
            cls_t = torch.zeros_like(flat_cls)
            cls_t[pos, labels[pos]] = bbox_overlaps(boxes, matched[pos], is_aligned=True).clamp(min=1e-6)
            loss_cls = self.loss_cls(flat_cls, cls_t, avg_factor=num_pos + num_imgs)
        else:
            loss_cls = self.loss_cls(flat_cls, labels, avg_factor=num_pos + num_imgs)
        if num_pos > 0:
            loss_bbox = self.loss_bbox(flat_reg[pos], targets[pos], torch.ones_like(targets[pos]), avg_factor=num_pos)
        else:
            loss_bbox = flat_reg[pos].sum() * 0
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        centres = [self.cell_centres(fs, s, cls_scores[0].device) for fs, s in zip(featmap_sizes, self.strides)]
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores = [], []
            for cls, reg, c, base in zip(cls_scores, bbox_preds, centres, self.base_edge_list):
                sc = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4)
                nms_pre = cfg.get('nms_pre', -1)
                if 0 < nms_pre < sc.shape[0]:
                    _, topk = sc.max(dim=1).values.topk(nms_pre)
                    sc, d, c = sc[topk], d[topk], c[topk]
                boxes.append(self.decode(c, d, base, meta['img_shape']))
                scores.append(sc)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms))
        return results
