"""VarifocalNet head (Zhang et al., "VarifocalNet: An IoU-aware Dense Object
Detector", CVPR 2021).

Per level: stacked cls/reg convs -> initial box (l, t, r, b) -> the nine
points of a "star" on that box give the offsets of a 3x3 deformable conv,
used both to refine the box (a scale factor on the detached initial box) and
to predict the IoU-aware classification score (IACS), trained with
Varifocal Loss against the IoU of the refined box with its gt.

Reads top to bottom: layers, forward, targets, loss, decode.
"""
import torch
import torch.nn as nn

from mmdet.core import (bbox2distance, bbox_overlaps, build_anchor_generator, build_assigner, distance2bbox,
                        fcos_assign, grid_points)
from mmdet.ops import Conv2d, ConvModule, DeformConv2d, Scale, bias_init_with_prob, kernel_grid_offset, normal_init
from mmdet.utils import reduce_mean

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections
from .prior_targets import atss_prior_targets, levels_first

INF = 1e8


def star_dcn_offset(bbox_pred, gradient_mul, stride, base_offset):
    """Offsets of a 3x3 deformable conv that samples the box's star points.

    ``bbox_pred`` (N, 4, H, W) distances (l, t, r, b) in pixels.  Kernel point
    (ky, kx) in {-1, 0, 1}^2 goes to (ky, kx) * (t|b, l|r) / stride, i.e. the
    corners, edge midpoints and centre of the box.  The gradient reaching the
    box through the offsets is scaled by ``gradient_mul``.  Returns
    (N, 18, H, W) offsets as (dy, dx) pairs, the regular grid subtracted.
    """
    pred = ((1 - gradient_mul) * bbox_pred.detach() + gradient_mul * bbox_pred) / stride
    l, t, r, b = pred.unbind(1)
    z = torch.zeros_like(l)
    star = torch.stack([-t, -l, -t, z, -t, r,
                        z, -l, z, z, z, r,
                        b, -l, b, z, b, r], dim=1)
    return star - base_offset.type_as(bbox_pred)


@HEADS.register_module()
class VFNetHead(BaseDenseHead):
    has_refine = True  # star-shaped deformable conv + box refinement

    def __init__(self, num_classes, in_channels, feat_channels=256, stacked_convs=3,
                 strides=(8, 16, 32, 64, 128),
                 regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
                 center_sampling=False, center_sample_radius=1.5, sync_num_pos=True, gradient_mul=0.1,
                 bbox_norm_type='reg_denom',
                 loss_cls_fl=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 use_vfl=True,
                 loss_cls=dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                               iou_weighted=True, loss_weight=1.0),
                 loss_bbox=dict(type='GIoULoss', loss_weight=1.5),
                 loss_bbox_refine=dict(type='GIoULoss', loss_weight=2.0),
                 norm_cfg=dict(type='GN', num_groups=32, requires_grad=True), conv_cfg=None, conv_bias='auto',
                 dcn_on_last_conv=False, use_atss=True,
                 anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                                       scales_per_octave=1, center_offset=0.0, strides=[8, 16, 32, 64, 128]),
                 train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__()
        if bbox_norm_type not in ('reg_denom', 'stride'):
            raise ValueError(f"bbox_norm_type must be 'reg_denom' or 'stride', got '{bbox_norm_type}'")
        if len(regress_ranges) != len(strides):
            raise ValueError('VFNetHead: regress_ranges and strides need one entry per level')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.feat_channels, self.stacked_convs = feat_channels, stacked_convs
        self.strides = list(strides)
        self.regress_ranges = regress_ranges
        self.reg_denoms = [rr[-1] for rr in regress_ranges]
        self.reg_denoms[-1] = self.reg_denoms[-2] * 2
        self.center_sampling, self.center_sample_radius = center_sampling, center_sample_radius
        self.sync_num_pos, self.gradient_mul, self.bbox_norm_type = sync_num_pos, gradient_mul, bbox_norm_type
        self.norm_cfg, self.conv_cfg, self.conv_bias = norm_cfg, conv_cfg, conv_bias
        self.dcn_on_last_conv = dcn_on_last_conv
        self.use_vfl = use_vfl
        self.loss_cls = build_loss(loss_cls if use_vfl else loss_cls_fl)
        self.use_sigmoid_cls = True
        self.cls_out_channels = num_classes
        self.loss_bbox = build_loss(loss_bbox)
        if loss_bbox_refine is None and self.has_refine:
            raise ValueError(f'{type(self).__name__} needs loss_bbox_refine (the refined box loss)')
        self.loss_bbox_refine = build_loss(loss_bbox_refine) if loss_bbox_refine is not None else None
        self.use_atss = use_atss
        self.anchor_generator = build_anchor_generator(anchor_generator)
        self.anchor_center_offset = anchor_generator.get('center_offset', 0.0)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if train_cfg and use_atss:
            self.assigner = build_assigner(train_cfg['assigner'])

        # the regular 3x3 grid, (dy, dx) per kernel point, row-major
        self.num_dconv_points, self.dcn_kernel, self.dcn_pad = 9, 3, 1
        self.dcn_base_offset = kernel_grid_offset(self.dcn_kernel)
        self._init_layers()
        self.init_weights()

    # ------------------------------------------------------------------ layers
    def _stacked_convs(self):
        return conv_tower(self.in_channels, self.feat_channels, self.stacked_convs, self.conv_cfg, self.norm_cfg,
                          self.conv_bias, self.dcn_on_last_conv)

    def _init_layers(self):
        fc = self.feat_channels
        self.cls_convs = self._stacked_convs()
        self.reg_convs = self._stacked_convs()
        self.relu = nn.ReLU(inplace=True)
        self.vfnet_reg_conv = ConvModule(fc, fc, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                                         norm_cfg=self.norm_cfg, bias=self.conv_bias)
        self.vfnet_reg = Conv2d(fc, 4, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.vfnet_reg_refine_dconv = DeformConv2d(fc, fc, self.dcn_kernel, 1, padding=self.dcn_pad)
        self.vfnet_reg_refine = Conv2d(fc, 4, 3, padding=1)
        self.scales_refine = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.vfnet_cls_dconv = DeformConv2d(fc, fc, self.dcn_kernel, 1, padding=self.dcn_pad)
        self.vfnet_cls = Conv2d(fc, self.cls_out_channels, 3, padding=1)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs) + [self.vfnet_reg_conv]:
            if isinstance(m.conv, nn.Conv2d):
                normal_init(m.conv, std=0.01)
        for m in (self.vfnet_reg, self.vfnet_reg_refine_dconv, self.vfnet_reg_refine, self.vfnet_cls_dconv):
            normal_init(m, std=0.01)
        normal_init(self.vfnet_cls, std=0.01, bias=bias_init_with_prob(0.01))

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level lists ``(cls_scores, bbox_preds, bbox_preds_refine)``:
        (N, C, H, W) IACS logits, (N, 4, H, W) initial and refined (l, t, r, b)."""
        outs = [self.forward_single(x, self.scales[i], self.scales_refine[i], self.strides[i], self.reg_denoms[i])
                for i, x in enumerate(feats)]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x, scale, scale_refine, stride, reg_denom):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        reg_feat_init = self.vfnet_reg_conv(reg_feat)
        norm = reg_denom if self.bbox_norm_type == 'reg_denom' else stride
        bbox_pred = scale(self.vfnet_reg(reg_feat_init)).float().exp() * norm

        # offsets cast to the feature dtype so the head also runs under fp16
        dcn_offset = star_dcn_offset(bbox_pred, self.gradient_mul, stride, self.dcn_base_offset).to(reg_feat.dtype)

        reg_feat = self.relu(self.vfnet_reg_refine_dconv(reg_feat, dcn_offset))
        bbox_pred_refine = scale_refine(self.vfnet_reg_refine(reg_feat)).float().exp() * bbox_pred.detach()

        cls_feat = self.relu(self.vfnet_cls_dconv(cls_feat, dcn_offset))
        return self.vfnet_cls(cls_feat), bbox_pred, bbox_pred_refine

    # ----------------------------------------------------------------- targets
    def get_points(self, featmap_sizes, dtype, device):
        """Per level (h*w, 2) points: grid*stride, + stride * anchor center_offset with ATSS (0 in every
        config), + stride // 2 FCOS-style."""
        return [grid_points(size, s, s * self.anchor_center_offset if self.use_atss else s // 2, dtype, device)
                for size, s in zip(featmap_sizes, self.strides)]

    def get_targets(self, featmap_sizes, points, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """Labels (num_classes = background), (l, t, r, b) targets and label
        weights (None for FCOS-style targets; 0 for ignored or invalid priors),
        flattened level-major then image then position, like the outputs."""
        num_imgs = len(img_metas)
        if gt_bboxes_ignore is None:
            gt_bboxes_ignore = [None] * num_imgs
        counts = [p.size(0) for p in points]
        if not self.use_atss:
            per_img = [self._fcos_targets_single(points, gt_bboxes[i], gt_labels[i]) for i in range(num_imgs)]
            return (levels_first([p[0] for p in per_img], counts), levels_first([p[1] for p in per_img], counts),
                    None)
        per_img = [atss_prior_targets(self.anchor_generator, self.assigner, featmap_sizes, gt_bboxes[i],
                                      gt_labels[i], img_metas[i], self.num_classes, gt_bboxes_ignore[i],
                                      (self.train_cfg or {}).get('allowed_border', -1)) for i in range(num_imgs)]
        labels = levels_first([p[1] for p in per_img], counts)
        gt_boxes = levels_first([p[2] for p in per_img], counts)
        weights = levels_first([p[3] for p in per_img], counts)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])
        return labels, bbox2distance(flat_points, gt_boxes), weights

    def _fcos_targets_single(self, points, gt_bboxes, gt_labels):
        all_points = torch.cat(points)
        ranges = torch.cat([all_points.new_tensor(rr)[None].expand(p.size(0), 2)
                            for rr, p in zip(self.regress_ranges, points)])
        strides = torch.cat([all_points.new_full((p.size(0),), s) for s, p in zip(self.strides, points)])
        return fcos_assign(all_points, ranges, strides, gt_bboxes, gt_labels, self.num_classes,
                           self.center_sampling, self.center_sample_radius)

    # -------------------------------------------------------------------- loss
    def loss(self, cls_scores, bbox_preds, bbox_preds_refine, gt_bboxes, gt_labels, img_metas,
             gt_bboxes_ignore=None):
        """``loss_cls`` (VFL against the refined box's IoU, or FL), ``loss_bbox``
        and ``loss_bbox_rf`` (GIoU weighted by the IoU of each box, averaged by
        the cross-GPU mean of those IoU sums)."""
        return self._loss(cls_scores, bbox_preds, bbox_preds_refine, gt_bboxes, gt_labels, img_metas,
                          gt_bboxes_ignore)

    def _loss(self, cls_scores, bbox_preds, bbox_preds_refine, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore):
        """Shared by the raw head, which has no refinement (``bbox_preds_refine=None``):
        then the IoU target of VFL is that of the initial box and there is no ``loss_bbox_rf``."""
        refine = bbox_preds_refine is not None
        cls_scores = [c.float() for c in cls_scores]
        bbox_preds = [b.float() for b in bbox_preds]
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        points = self.get_points(featmap_sizes, bbox_preds[0].dtype, bbox_preds[0].device)
        labels, bbox_targets, label_weights = self.get_targets(featmap_sizes, points, gt_bboxes, gt_labels,
                                                               img_metas, gt_bboxes_ignore)
        num_imgs = cls_scores[0].size(0)
        flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        flat_pred = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])

        pos_inds = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
        num_pos = pos_inds.numel()
        if self.sync_num_pos:
            num_pos_avg = max(reduce_mean(flat_cls.new_tensor(float(num_pos))).item(), 1.0)
        else:
            num_pos_avg = num_pos

        pos_points = flat_points[pos_inds]
        pos_labels = labels[pos_inds]
        target_boxes = distance2bbox(pos_points, bbox_targets[pos_inds]).detach()
        boxes_ini = distance2bbox(pos_points, flat_pred[pos_inds])
        iou_ini = bbox_overlaps(boxes_ini, target_boxes, is_aligned=True).clamp(min=1e-6).detach()
        # every rank joins every reduction, with or without positives (the
        # original skipped them on ranks without positives and could hang)
        avg_ini = max(reduce_mean(iou_ini.sum()).item(), 1.0)
        if num_pos > 0:
            losses = dict(loss_bbox=self.loss_bbox(boxes_ini, target_boxes, weight=iou_ini, avg_factor=avg_ini))
        else:
            losses = dict(loss_bbox=flat_pred[pos_inds].sum() * 0)
        cls_iou = iou_ini
        if refine:
            flat_refine = torch.cat([b.float().permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds_refine])
            boxes_rf = distance2bbox(pos_points, flat_refine[pos_inds])
            iou_rf = bbox_overlaps(boxes_rf, target_boxes, is_aligned=True).clamp(min=1e-6).detach()
            avg_rf = max(reduce_mean(iou_rf.sum()).item(), 1.0)
            if num_pos > 0:
                losses['loss_bbox_rf'] = self.loss_bbox_refine(boxes_rf, target_boxes, weight=iou_rf,
                                                               avg_factor=avg_rf)
            else:
                losses['loss_bbox_rf'] = flat_refine[pos_inds].sum() * 0
            cls_iou = iou_rf

        if self.use_vfl:
            cls_targets = torch.zeros_like(flat_cls)
            cls_targets[pos_inds, pos_labels] = cls_iou
            loss_cls = self.loss_cls(flat_cls, cls_targets, avg_factor=num_pos_avg)
        else:
            loss_cls = self.loss_cls(flat_cls, labels, weight=label_weights, avg_factor=num_pos_avg)
        return dict(loss_cls=loss_cls, **losses)

    # ------------------------------------------------------------------ decode
    def get_bboxes(self, cls_scores, bbox_preds, bbox_preds_refine, img_metas, cfg=None, rescale=False,
                   with_nms=True):
        """Per image ``(dets, labels)``, or ``(boxes, scores)`` without NMS; decoded from the refined boxes."""
        return self._get_bboxes(cls_scores, bbox_preds_refine, img_metas, cfg, rescale, with_nms)

    def _get_bboxes(self, cls_scores, bbox_preds_refine, img_metas, cfg=None, rescale=False, with_nms=True):
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        points = self.get_points(featmap_sizes, bbox_preds_refine[0].dtype, bbox_preds_refine[0].device)
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores = [], []
            for cls, reg, pts in zip(cls_scores, bbox_preds_refine, points):
                s = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4)
                nms_pre = cfg.get('nms_pre', -1)
                if 0 < nms_pre < s.shape[0]:
                    _, topk = s.max(dim=1).values.topk(nms_pre)
                    pts, d, s = pts[topk], d[topk], s[topk]
                boxes.append(distance2bbox(pts, d, max_shape=meta['img_shape']))
                scores.append(s)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms))
        return results


@HEADS.register_module()
class VFNetRawHead(VFNetHead):
    """VFNet without the star deformable conv and box refinement (the paper's
    "raw" ablation): a plain 3x3 ``vfnet_cls_conv`` before the classifier, the
    initial box is the output, and VFL's IoU target is the initial box's IoU.
    ``forward`` returns ``(cls_scores, bbox_preds)``; the losses are
    ``loss_cls`` and ``loss_bbox``.  As in the original, it trains with Focal
    Loss (``loss_cls_fl``) unless ``use_vfl=True``."""
    has_refine = False

    def __init__(self, num_classes, in_channels, use_vfl=False, loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
                 loss_bbox_refine=None, **kwargs):
        super().__init__(num_classes, in_channels, use_vfl=use_vfl, loss_bbox=loss_bbox,
                         loss_bbox_refine=loss_bbox_refine, **kwargs)

    def _init_layers(self):
        fc = self.feat_channels
        self.cls_convs = self._stacked_convs()
        self.reg_convs = self._stacked_convs()
        self.vfnet_reg_conv = ConvModule(fc, fc, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                                         norm_cfg=self.norm_cfg, bias=self.conv_bias)
        self.vfnet_reg = Conv2d(fc, 4, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.vfnet_cls_conv = ConvModule(fc, fc, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                                         norm_cfg=self.norm_cfg, bias=self.conv_bias)
        self.vfnet_cls = Conv2d(fc, self.cls_out_channels, 3, padding=1)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs) + [self.vfnet_reg_conv, self.vfnet_cls_conv]:
            if isinstance(m.conv, nn.Conv2d):
                normal_init(m.conv, std=0.01)
        normal_init(self.vfnet_reg, std=0.01)
        normal_init(self.vfnet_cls, std=0.01, bias=bias_init_with_prob(0.01))

    def forward(self, feats):
        outs = [self.forward_single(x, self.scales[i], self.strides[i], self.reg_denoms[i])
                for i, x in enumerate(feats)]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x, scale, stride, reg_denom):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        norm = reg_denom if self.bbox_norm_type == 'reg_denom' else stride
        bbox_pred = scale(self.vfnet_reg(self.vfnet_reg_conv(reg_feat))).float().exp() * norm
        return self.vfnet_cls(self.vfnet_cls_conv(cls_feat)), bbox_pred

    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        return self._loss(cls_scores, bbox_preds, None, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore)

    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        return self._get_bboxes(cls_scores, bbox_preds, img_metas, cfg, rescale, with_nms)
