"""RetinaNet head (Lin et al. 2017), with the Varifocal Loss option of the VFNet paper.

With ``loss_cls`` a VarifocalLoss, a positive anchor's classification target
is the IoU of its decoded box with its gt (at the gt class), negatives 0;
anchors the assigner ignores keep weight 0.  Box regression is unchanged
(deltas with ``loss_bbox``, or decoded boxes with ``reg_decoded_bbox=True``).
"""
import torch
import torch.nn as nn

from mmdet.core import bbox_overlaps, build_anchor_generator, build_assigner, build_bbox_coder
from mmdet.ops import Conv2d, bias_init_with_prob, normal_init

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections, select_vfl
from .prior_targets import levels_first, max_iou_prior_targets


@HEADS.register_module()
class RetinaHead(BaseDenseHead):

    def __init__(self, num_classes, in_channels, stacked_convs=4, feat_channels=256, conv_cfg=None, norm_cfg=None,
                 anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                       ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                                 target_stds=[1.0, 1.0, 1.0, 1.0]),
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 use_vfl=None,
                 loss_cls_vfl=dict(type='VarifocalLoss', use_sigmoid=True, alpha=0.75, gamma=2.0,
                                   iou_weighted=True, loss_weight=1.0),
                 loss_bbox=dict(type='L1Loss', loss_weight=1.0), reg_decoded_bbox=False, train_cfg=None,
                 test_cfg=None, init_cfg=None):
        super().__init__()
        self.num_classes, self.in_channels = num_classes, in_channels
        self.stacked_convs, self.feat_channels = stacked_convs, feat_channels
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.cls_out_channels = num_classes
        self.anchor_generator = build_anchor_generator(anchor_generator)
        self.num_anchors = self.anchor_generator.num_base_anchors[0]
        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.use_vfl, loss_cls = select_vfl('RetinaHead', loss_cls, use_vfl, loss_cls_vfl)
        self.loss_cls, self.loss_bbox = build_loss(loss_cls), build_loss(loss_bbox)
        self.reg_decoded_bbox = reg_decoded_bbox
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if train_cfg:
            self.assigner = build_assigner(train_cfg['assigner'])
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg)
                                          for _ in range(2))
        self.retina_cls = Conv2d(feat_channels, self.num_anchors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = Conv2d(feat_channels, self.num_anchors * 4, 3, padding=1)
        self.init_weights()

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.retina_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.retina_reg, std=0.01)

    def forward(self, feats):
        outs = [self.forward_single(x) for x in feats]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)

    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        num_imgs = len(img_metas)
        ignore = gt_bboxes_ignore if gt_bboxes_ignore is not None else [None] * num_imgs
        per_img = [max_iou_prior_targets(self.anchor_generator, self.assigner, featmap_sizes, gt_bboxes[i],
                                         gt_labels[i], img_metas[i], self.num_classes, ignore[i],
                                         (self.train_cfg or {}).get('allowed_border', -1)) for i in range(num_imgs)]
        counts = [c.shape[-2] * c.shape[-1] * self.num_anchors for c in cls_scores]
        anchors, labels, gt_boxes, label_weights = (levels_first([p[k] for p in per_img], counts) for k in range(4))
        # 2.x: the average is over positives, at least one per image
        num_total = float(sum(max(int(((p[1] >= 0) & (p[1] < self.num_classes)).sum()), 1) for p in per_img))
        flat_cls = torch.cat([c.float().permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        flat_reg = torch.cat([b.float().permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
        if self.use_vfl:
            targets = torch.zeros_like(flat_cls)
            decoded = self.bbox_coder.decode(anchors[pos], flat_reg[pos].detach())
            # no clamp: a positive whose box misses its gt entirely is a VFL negative, as in the original
            targets[pos, labels[pos]] = bbox_overlaps(decoded, gt_boxes[pos], is_aligned=True)
            loss_cls = self.loss_cls(flat_cls, targets, weight=label_weights[:, None], avg_factor=num_total)
        else:
            loss_cls = self.loss_cls(flat_cls, labels, label_weights, avg_factor=num_total)
        if pos.numel() == 0:
            return dict(loss_cls=loss_cls, loss_bbox=flat_reg[pos].sum() * 0)
        if self.reg_decoded_bbox:
            loss_bbox = self.loss_bbox(self.bbox_coder.decode(anchors[pos], flat_reg[pos]), gt_boxes[pos],
                                       avg_factor=num_total)
        else:
            loss_bbox = self.loss_bbox(flat_reg[pos], self.bbox_coder.encode(anchors[pos], gt_boxes[pos]),
                                       avg_factor=num_total)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        anchors = self.anchor_generator.grid_anchors(featmap_sizes, cls_scores[0].device)
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores = [], []
            for cls, reg, anc in zip(cls_scores, bbox_preds, anchors):
                s = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4)
                nms_pre = cfg.get('nms_pre', -1)
                if 0 < nms_pre < s.shape[0]:
                    _, topk = s.max(dim=1).values.topk(nms_pre)
                    anc, d, s = anc[topk], d[topk], s[topk]
                boxes.append(self.bbox_coder.decode(anc, d, max_shape=meta['img_shape']))
                scores.append(s)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms))
        return results
