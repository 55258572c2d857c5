"""ATSS head (Zhang et al., CVPR 2020), with the Varifocal Loss option of VFNet.

Layers, forward, targets, loss, decode.  With ``use_vfl=True`` (the config's
``loss_cls`` is then a VarifocalLoss) the classifier is trained against the IoU
of the decoded box with its gt at the gt class: the original silently reset
this flag and trained with Focal Loss; here the config is obeyed.
"""
import torch
import torch.nn as nn

from mmdet.core import bbox_overlaps, build_anchor_generator, build_assigner, build_bbox_coder
from mmdet.ops import Conv2d, Scale, bias_init_with_prob, normal_init
from mmdet.utils import reduce_mean

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections
from .prior_targets import atss_prior_targets, levels_first


IOU_AWARE_LOSSES = {'VarifocalLoss': 'vfl', 'QualityFocalLoss': 'gfl'}


@HEADS.register_module()
class ATSSHead(BaseDenseHead):
    """ATSS with centerness; Focal, Varifocal or Quality Focal classification.

    Config forms of the original repository all work: ``ATSSHead`` (Focal
    Loss), ``ATSSVGFLHead`` with ``use_vfl=True`` or ``use_gfl=True`` and the
    IoU-aware loss in ``loss_cls_vgfl``, and ``ATSSRawHead`` (no centerness).
    A ``loss_cls`` of type VarifocalLoss/QualityFocalLoss selects the same
    training directly.
    """

    def __init__(self, num_classes, in_channels, stacked_convs=4, feat_channels=256, conv_cfg=None,
                 norm_cfg=dict(type='GN', num_groups=32, requires_grad=True), dcn_on_last_conv=False,
                 anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                                       scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                 target_stds=[0.1, 0.1, 0.2, 0.2]),
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
                 loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 use_centerness=True, use_vfl=None, use_gfl=None, loss_cls_vgfl=None, reg_decoded_bbox=True,
                 train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__()
        self.num_classes, self.in_channels = num_classes, in_channels
        self.stacked_convs, self.feat_channels = stacked_convs, feat_channels
        self.conv_cfg, self.norm_cfg, self.dcn_on_last_conv = conv_cfg, norm_cfg, dcn_on_last_conv
        self.cls_out_channels = num_classes
        if use_vfl and use_gfl:
            raise ValueError('ATSSHead: use_vfl and use_gfl are exclusive')
        if (use_vfl or use_gfl) and loss_cls_vgfl is not None:
            loss_cls = loss_cls_vgfl  # the original's ATSSVGFLHead form
        kind = IOU_AWARE_LOSSES.get(loss_cls['type'])
        for flag, name in ((use_vfl, 'vfl'), (use_gfl, 'gfl')):
            if flag is not None and bool(flag) != (kind == name):
                raise ValueError(f"ATSSHead: use_{name}={flag} does not fit the classification loss "
                                 f"'{loss_cls['type']}' (VFL needs VarifocalLoss, GFL QualityFocalLoss)")
        # IoU-aware targets: Varifocal Loss (the original silently trained these
        # configs with Focal Loss; here the config is obeyed) or Quality Focal Loss
        self.use_vfl, self.use_gfl = kind == 'vfl', kind == 'gfl'
        self.use_centerness = use_centerness
        self.anchor_generator = build_anchor_generator(anchor_generator)
        self.num_anchors = self.anchor_generator.num_base_anchors[0]
        self.strides = [s[0] for s in self.anchor_generator.strides]
        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox = build_loss(loss_bbox)
        if use_centerness and loss_centerness is None:
            raise ValueError('ATSSHead: use_centerness=True needs loss_centerness')
        self.loss_centerness = build_loss(loss_centerness) if use_centerness else None
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if train_cfg:
            self.assigner = build_assigner(train_cfg['assigner'])
        self._init_layers()
        self.init_weights()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                                     self.conv_cfg, self.norm_cfg,
                                                     dcn_on_last_conv=self.dcn_on_last_conv) for _ in range(2))
        self.atss_cls = Conv2d(self.feat_channels, self.num_anchors * self.cls_out_channels, 3, padding=1)
        self.atss_reg = Conv2d(self.feat_channels, self.num_anchors * 4, 3, padding=1)
        if self.use_centerness:
            self.atss_centerness = Conv2d(self.feat_channels, self.num_anchors * 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            if isinstance(m.conv, nn.Conv2d):
                normal_init(m.conv, std=0.01)
        normal_init(self.atss_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.atss_reg, std=0.01)
        if self.use_centerness:
            normal_init(self.atss_centerness, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level lists ``(cls_scores, bbox_preds[, centernesses])``."""
        outs = [self.forward_single(x, scale) for x, scale in zip(feats, self.scales)]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x, scale):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        out = (self.atss_cls(cls_feat), scale(self.atss_reg(reg_feat)).float())
        return out + (self.atss_centerness(reg_feat),) if self.use_centerness else out

    # ----------------------------------------------------------- targets/loss
    @staticmethod
    def centerness_target(anchors, gts):
        """sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)) of the anchor centre in its gt."""
        cx, cy = (anchors[:, 0] + anchors[:, 2]) / 2, (anchors[:, 1] + anchors[:, 3]) / 2
        lr = torch.stack([cx - gts[:, 0], gts[:, 2] - cx], dim=1)
        tb = torch.stack([cy - gts[:, 1], gts[:, 3] - cy], dim=1)
        return torch.sqrt((lr.min(-1).values / lr.max(-1).values) * (tb.min(-1).values / tb.max(-1).values))

    def loss(self, cls_scores, bbox_preds, *rest, gt_bboxes_ignore=None):
        centernesses = rest[0] if self.use_centerness else None
        gt_bboxes, gt_labels, img_metas = rest[-3:]
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        num_imgs = len(img_metas)
        ignore = gt_bboxes_ignore if gt_bboxes_ignore is not None else [None] * num_imgs
        per_img = [atss_prior_targets(self.anchor_generator, self.assigner, featmap_sizes, gt_bboxes[i], gt_labels[i],
                                      img_metas[i], self.num_classes, ignore[i],
                                      (self.train_cfg or {}).get('allowed_border', -1)) for i in range(num_imgs)]
        counts = [c.shape[-2] * c.shape[-1] * self.num_anchors for c in cls_scores]
        anchors, labels, gt_boxes, label_weights = (levels_first([p[k] for p in per_img], counts) for k in range(4))
        flat_cls = torch.cat([c.float().permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        flat_reg = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
        # 2.x: the average is over positives counting at least one per image,
        # then over ranks
        per_img_pos = sum(max(int(((p[1] >= 0) & (p[1] < self.num_classes)).sum()), 1) for p in per_img)
        num_total = max(reduce_mean(flat_cls.new_tensor(float(per_img_pos))).item(), 1.0)

        pos_anchors, pos_gts = anchors[pos], gt_boxes[pos]
        decoded = self.bbox_coder.decode(pos_anchors, flat_reg[pos])
        if self.use_centerness:
            # GIoU weighted by the centerness target, averaged by the cross-rank
            # mean of those weights; every rank joins the reduction
            centerness_t = self.centerness_target(pos_anchors, pos_gts)
            bbox_avg = reduce_mean(centerness_t.sum().detach()).item()
            bbox_avg = bbox_avg if bbox_avg >= 1e-12 else 1.0
            loss_bbox = (self.loss_bbox(decoded, pos_gts, weight=centerness_t, avg_factor=1.0) / bbox_avg
                         if pos.numel() > 0 else flat_reg[pos].sum() * 0)
        else:
            loss_bbox = (self.loss_bbox(decoded, pos_gts, avg_factor=num_total)
                         if pos.numel() > 0 else flat_reg[pos].sum() * 0)
        if self.use_vfl:
            targets = torch.zeros_like(flat_cls)
            targets[pos, labels[pos]] = bbox_overlaps(decoded.detach(), pos_gts, is_aligned=True).clamp(min=1e-6)
            loss_cls = self.loss_cls(flat_cls, targets, avg_factor=num_total)
        elif self.use_gfl:
            quality = flat_cls.new_zeros(labels.shape)
            quality[pos] = bbox_overlaps(decoded.detach(), pos_gts, is_aligned=True)
            loss_cls = self.loss_cls(flat_cls, (labels, quality), weight=label_weights, avg_factor=num_total)
        else:
            loss_cls = self.loss_cls(flat_cls, labels, label_weights, avg_factor=num_total)
        losses = dict(loss_cls=loss_cls, loss_bbox=loss_bbox)
        if self.use_centerness:
            flat_ctr = torch.cat([c.permute(0, 2, 3, 1).reshape(-1) for c in centernesses])
            losses['loss_centerness'] = (self.loss_centerness(flat_ctr[pos], centerness_t, avg_factor=num_total)
                                         if pos.numel() > 0 else flat_ctr[pos].sum() * 0)
        return losses

    # ------------------------------------------------------------------ decode
    def get_bboxes(self, cls_scores, bbox_preds, *rest, cfg=None, rescale=False, with_nms=True):
        """Per image ``(dets, labels)`` (scores x centerness), or ``(boxes, scores, centerness)`` without NMS."""
        if self.use_centerness:
            centernesses, img_metas, *opt = rest
        else:
            img_metas, *opt = rest
            centernesses = None
        if opt:  # positional cfg, rescale, with_nms as in the 2.x call convention
            cfg = opt[0]
            rescale = opt[1] if len(opt) > 1 else rescale
            with_nms = opt[2] if len(opt) > 2 else with_nms
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        anchors = self.anchor_generator.grid_anchors(featmap_sizes, cls_scores[0].device)
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores, factors = [], [], []
            for lvl, (cls, reg, anc) in enumerate(zip(cls_scores, bbox_preds, anchors)):
                s = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4)
                c = (centernesses[lvl][i].detach().permute(1, 2, 0).reshape(-1).sigmoid() if self.use_centerness
                     else s.new_ones(s.shape[0]))
                nms_pre = cfg.get('nms_pre', -1)
                if 0 < nms_pre < s.shape[0]:
                    _, topk = (s * c[:, None]).max(dim=1).values.topk(nms_pre)
                    anc, d, s, c = anc[topk], d[topk], s[topk], c[topk]
                boxes.append(self.bbox_coder.decode(anc, d, max_shape=meta['img_shape']))
                scores.append(s)
                factors.append(c)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms,
                                             torch.cat(factors) if self.use_centerness else None))
        return results


@HEADS.register_module()
class ATSSVGFLHead(ATSSHead):
    """The original repository's name for ATSS trained with VFL (``use_vfl``)
    or GFL's QFL (``use_gfl``), the loss in ``loss_cls_vgfl``."""

    def __init__(self, num_classes, in_channels, use_vfl=False, use_gfl=False,
                 loss_cls_vgfl=dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                                    iou_weighted=True, loss_weight=1.0), **kwargs):
        super().__init__(num_classes, in_channels, use_vfl=use_vfl, use_gfl=use_gfl, loss_cls_vgfl=loss_cls_vgfl,
                         **kwargs)


@HEADS.register_module()
class ATSSRawHead(ATSSHead):
    """The original repository's ATSS without the centerness branch."""

    def __init__(self, num_classes, in_channels, **kwargs):
        if kwargs.pop('use_centerness', False) or kwargs.pop('loss_centerness', None) is not None:
            raise ValueError('ATSSRawHead has no centerness branch; use ATSSHead for one')
        super().__init__(num_classes, in_channels, use_centerness=False, loss_centerness=None, **kwargs)
