"""FoveaBox head (Kong et al. 2020), with the Varifocal Loss option of the VFNet paper.

Each gt goes to the pyramid levels whose ``scale_ranges`` hold sqrt(area);
the cells of its central "fovea" (a ``sigma`` fraction of the box) are its
positives.  A cell (i, j) sits at ((j + 0.5) * stride, (i + 0.5) * stride);
box targets are log((x - x1) / base_len, (y - y1) / base_len, (x2 - x) / base_len,
(y2 - y) / base_len), clamped to [1/16, 16] before the log.  With Varifocal
Loss (``use_vfl=True`` and ``loss_cls_vfl``, or ``loss_cls`` a VarifocalLoss)
the classification target of a positive is the IoU of its decoded box with its
gt box, clamped to at least 1e-6.
"""
import torch
import torch.nn as nn

from mmdet.core import bbox_overlaps
from mmdet.ops import Conv2d, bias_init_with_prob, normal_init

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


@HEADS.register_module()
class FoveaHead(BaseDenseHead):

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
        if with_deform:
            raise ValueError('FoveaHead with_deform=True (feature alignment) is not implemented; '
                             'the VFNet configs use with_deform=False')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.feat_channels, self.stacked_convs = feat_channels, stacked_convs
        self.strides, self.base_edge_list = list(strides), list(base_edge_list)
        self.scale_ranges, self.sigma = scale_ranges, sigma
        self.cls_out_channels = num_classes
        self.use_vfl, loss_cls = select_vfl('FoveaHead', loss_cls, use_vfl, loss_cls_vfl)
        self.loss_cls, self.loss_bbox = build_loss(loss_cls), build_loss(loss_bbox)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.cls_convs, self.reg_convs = (conv_tower(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg)
                                          for _ in range(2))
        self.conv_cls = Conv2d(feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = Conv2d(feat_channels, 4, 3, padding=1)
        self.init_weights()

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.conv_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.conv_reg, std=0.01)

    def forward(self, feats):
        outs = [self.forward_single(x) for x in feats]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x):
        cls_feat, reg_feat = x, x
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        return self.conv_cls(cls_feat), self.conv_reg(reg_feat)

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
