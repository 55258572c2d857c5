"""Generalized Focal Loss head (Li et al., "Generalized Focal Loss: Learning
Qualified and Distributed Bounding Boxes for Dense Object Detection",
NeurIPS 2020, https://arxiv.org/abs/2006.04388), as MMDetection 2.10's GFLHead.

An ATSS-style head with one square anchor per location:

- the classifier predicts a joint class x localisation-quality score, trained
  with Quality Focal Loss against the IoU of the decoded box with its gt at
  the gt class (0 elsewhere);
- each box side is a discrete distribution over ``{0, ..., reg_max}`` (in
  units of the level's stride); its expectation (:class:`Integral`) is the
  distance from the anchor centre.  Distribution Focal Loss pulls it to the
  two bins around the target distance, GIoU Loss trains the decoded box; both
  are weighted by the detached max class score of the positive.

Reads top to bottom: layers, forward, targets, loss, decode.  Targets come
from the shared ATSS assignment (:func:`atss_prior_targets`).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdet.core import (bbox2distance, bbox_overlaps, build_anchor_generator, build_assigner, build_bbox_coder,
                        distance2bbox)
from mmdet.ops import Conv2d, Scale, bias_init_with_prob, normal_init
from mmdet.utils import reduce_mean

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections
from .prior_targets import atss_prior_targets, levels_first


class Integral(nn.Module):
    """Expectation of a discrete distribution over ``{0, 1, ..., reg_max}``.

    ``project`` is the fixed buffer ``[0, 1, ..., reg_max]`` (it is in the
    original checkpoints' state dict as ``bbox_head.integral.project``).

    Args:
        reg_max (int): the largest value of the discrete set.
    """

    def __init__(self, reg_max=16):
        super().__init__()
        self.reg_max = reg_max
        self.register_buffer('project', torch.linspace(0, reg_max, reg_max + 1))

    def forward(self, x):
        """(..., 4 * (reg_max + 1)) logits -> (..., 4) expected distances (l, t, r, b)."""
        prob = F.softmax(x.reshape(*x.shape[:-1], 4, self.reg_max + 1), dim=-1)
        return prob @ self.project.type_as(prob)


def anchor_center(anchors):
    """(N, 4) boxes -> (N, 2) centres (x, y)."""
    return (anchors[:, :2] + anchors[:, 2:]) / 2


def gfl_box_targets(anchors, gt_boxes, strides, reg_max):
    """Box targets of positives in stride units.

    Args:
        anchors (Tensor): (P, 4) positive anchors, pixels.
        gt_boxes (Tensor): (P, 4) their matched gt boxes, pixels.
        strides (Tensor): (P,) the stride of each anchor's level.
        reg_max (int): the largest bin of the distance distribution.

    Returns:
        tuple: ``centers`` (P, 2) anchor centres / stride, ``boxes`` (P, 4)
        gt boxes / stride, and ``distances`` (P, 4) ``(l, t, r, b)`` from
        centre to gt sides / stride, clamped to ``[0, reg_max - 0.1]`` (so the
        right bin of :func:`~mmdet.models.losses.gfocal_loss.dfl_bins` is at
        most ``reg_max``).
    """
    s = strides[:, None]
    centers, boxes = anchor_center(anchors) / s, gt_boxes / s
    return centers, boxes, bbox2distance(centers, boxes, reg_max)


@HEADS.register_module()
class GFLHead(BaseDenseHead):
    """GFL head: QFL on the joint class-IoU score, DFL + GIoU on a general
    distribution of box sides, ATSS assignment on one anchor per location.

    Args:
        num_classes (int): number of classes (no background).
        in_channels (int): channels of the input features.
        stacked_convs (int): convs of each (cls, reg) tower.
        feat_channels (int): channels of the towers.
        conv_cfg, norm_cfg (dict): of the tower convs (GN by default).
        anchor_generator (dict): one anchor per location (``ratios=[1.0]``,
            ``scales_per_octave=1``); its centres are the reference points.
        bbox_coder (dict): built as 2.x's AnchorHead does (``self.bbox_coder``);
            GFL decodes with distances, not with it.
        reg_decoded_bbox (bool): accepted as 2.x's AnchorHead; unused.
        loss_cls (dict): Quality Focal Loss (takes ``(labels, quality)``).
        loss_dfl (dict): Distribution Focal Loss.
        loss_bbox (dict): GIoU Loss on the decoded boxes.
        reg_max (int): the distance distribution is over ``{0, ..., reg_max}``
            stride units.
        train_cfg (dict): ``assigner`` (ATSSAssigner), ``allowed_border``,
            ``pos_weight`` (> 0: the classification weight of positives).
        test_cfg (dict): ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.

    Outputs per level: ``cls_score`` (N, num_classes, H, W) joint scores
    (logits), ``bbox_pred`` (N, 4 * (reg_max + 1), H, W) distribution logits.
    """

    def __init__(self, num_classes, in_channels, stacked_convs=4, feat_channels=256, conv_cfg=None,
                 norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
                 anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                                       scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', clip_border=True, target_means=(.0, .0, .0, .0),
                                 target_stds=(1.0, 1.0, 1.0, 1.0)),
                 reg_decoded_bbox=False,
                 loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
                 loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
                 loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
                 reg_max=16, train_cfg=None, test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError(f"GFLHead: loss_cls must be a sigmoid loss (use_sigmoid=True), got {loss_cls}")
        if not (isinstance(reg_max, int) and reg_max >= 1):
            raise ValueError(f'GFLHead: reg_max must be a positive int, got {reg_max!r}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.stacked_convs, self.feat_channels = stacked_convs, feat_channels
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.cls_out_channels = num_classes
        self.reg_max = reg_max
        self.anchor_generator = build_anchor_generator(anchor_generator)
        self.num_anchors = self.anchor_generator.num_base_anchors[0]
        if self.num_anchors != 1:
            raise ValueError(f'GFLHead: anchor_generator must give one anchor per location (one ratio and one '
                             f'scale), got {self.num_anchors}')
        self.strides = [s[0] for s in self.anchor_generator.strides]
        if any(sx != sy for sx, sy in self.anchor_generator.strides):
            raise ValueError(f'GFLHead: strides must be square, got {self.anchor_generator.strides}')
        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.reg_decoded_bbox = reg_decoded_bbox
        self.loss_cls = build_loss(loss_cls)
        self.loss_dfl = build_loss(loss_dfl)
        self.loss_bbox = build_loss(loss_bbox)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if train_cfg:
            self.assigner = build_assigner(train_cfg['assigner'])
        self._init_layers()
        self.init_weights()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                                     self.conv_cfg, self.norm_cfg) for _ in range(2))
        self.gfl_cls = Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.gfl_reg = Conv2d(self.feat_channels, 4 * (self.reg_max + 1), 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])
        self.integral = Integral(self.reg_max)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.gfl_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.gfl_reg, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level lists ``(cls_scores, bbox_preds)``."""
        outs = [self.forward_single(x, scale) for x, scale in zip(feats, self.scales)]
        return tuple(map(list, zip(*outs)))

    def forward_single(self, x, scale):
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        return self.gfl_cls(cls_feat), scale(self.gfl_reg(reg_feat)).float()

    # ----------------------------------------------------------- targets/loss
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """QFL, GIoU and DFL losses, as 2.10's GFLHead.

        Args:
            cls_scores (list[Tensor]): per level (N, num_classes, H, W).
            bbox_preds (list[Tensor]): per level (N, 4 * (reg_max + 1), H, W).
            gt_bboxes (list[Tensor]): per image (G, 4) pixels.
            gt_labels (list[Tensor]): per image (G,).
            img_metas (list[dict]): per image ``img_shape``, ``pad_shape``.
            gt_bboxes_ignore (list[Tensor] | None): per image (I, 4).

        Returns:
            dict: ``loss_cls`` (QFL averaged over the positives, at least one
            per image, mean over ranks), ``loss_bbox`` and ``loss_dfl`` (sums
            weighted by the positives' max class score, divided by the
            cross-rank mean of those weights; DFL also by 4 sides).  2.10
            returns per-level lists; their sums are these values.
        """
        if self.train_cfg is None:
            raise ValueError('GFLHead.loss needs train_cfg (with an assigner)')
        cls_scores = [c.float() for c in cls_scores]  # 2.x: force_fp32
        bbox_preds = [b.float() for b in bbox_preds]
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        num_imgs = len(img_metas)
        ignore = gt_bboxes_ignore if gt_bboxes_ignore is not None else [None] * num_imgs
        per_img = [atss_prior_targets(self.anchor_generator, self.assigner, featmap_sizes, gt_bboxes[i], gt_labels[i],
                                      img_metas[i], self.num_classes, ignore[i],
                                      self.train_cfg.get('allowed_border', -1)) for i in range(num_imgs)]
        counts = [h * w for h, w in featmap_sizes]
        anchors, labels, gt_boxes, label_weights = (levels_first([p[k] for p in per_img], counts) for k in range(4))
        strides = torch.cat([anchors.new_full((n * num_imgs,), s) for n, s in zip(counts, self.strides)])
        flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        flat_reg = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4 * (self.reg_max + 1)) for b in bbox_preds])

        pos = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
        pos_weight = self.train_cfg.get('pos_weight', -1)
        if pos_weight is not None and pos_weight > 0:
            label_weights[pos] = float(pos_weight)
        per_img_pos = sum(max(int(((p[1] >= 0) & (p[1] < self.num_classes)).sum()), 1) for p in per_img)
        num_total = max(reduce_mean(flat_cls.new_tensor(float(per_img_pos))).item(), 1.0)

        quality = flat_cls.new_zeros(labels.shape)
        if pos.numel() > 0:
            pos_reg = flat_reg[pos]
            centers, target_boxes, target_dist = gfl_box_targets(anchors[pos], gt_boxes[pos], strides[pos],
                                                                 self.reg_max)
            pred_boxes = distance2bbox(centers, self.integral(pos_reg))
            weight = flat_cls.detach().sigmoid().max(dim=1).values[pos]
            quality[pos] = bbox_overlaps(pred_boxes.detach(), target_boxes, is_aligned=True)
            loss_bbox = self.loss_bbox(pred_boxes, target_boxes, weight=weight, avg_factor=1.0)
            loss_dfl = self.loss_dfl(pos_reg.reshape(-1, self.reg_max + 1), target_dist.reshape(-1),
                                     weight=weight[:, None].expand(-1, 4).reshape(-1), avg_factor=4.0)
            weight_sum = weight.sum()
        else:
            loss_bbox = loss_dfl = flat_reg.sum() * 0
            weight_sum = flat_reg.new_tensor(0.)
        # every rank joins the reduction; with no positive anywhere the original
        # divides 0 by 0 (NaN), here the zero losses stay zero
        weight_avg = reduce_mean(weight_sum.detach()).item()
        weight_avg = weight_avg if weight_avg > 0 else 1.0
        loss_cls = self.loss_cls(flat_cls, (labels, quality), weight=label_weights, avg_factor=num_total)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox / weight_avg, loss_dfl=loss_dfl / weight_avg)

    # ------------------------------------------------------------------ decode
    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        """Per image ``(dets (k, 5), labels (k,))``, or ``(boxes (n, 4), scores
        (n, num_classes + 1))`` without NMS.

        Per level: sigmoid scores, the ``nms_pre`` locations of highest max
        score, expected distances x stride from the anchor centre, clipped to
        ``img_shape``; boxes are divided by ``scale_factor`` with ``rescale``.
        """
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.size()[-2:] for c in cls_scores]
        anchors = self.anchor_generator.grid_anchors(featmap_sizes, cls_scores[0].device)
        nms_pre = cfg.get('nms_pre', -1)
        results = []
        for i, meta in enumerate(img_metas):
            boxes, scores = [], []
            for cls, reg, anc, stride in zip(cls_scores, bbox_preds, anchors, self.strides):
                s = cls[i].detach().permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                d = reg[i].detach().permute(1, 2, 0).reshape(-1, 4 * (self.reg_max + 1))
                if 0 < nms_pre < s.shape[0]:
                    _, topk = s.max(dim=1).values.topk(nms_pre)
                    anc, d, s = anc[topk], d[topk], s[topk]
                boxes.append(distance2bbox(anchor_center(anc), self.integral(d) * stride, max_shape=meta['img_shape']))
                scores.append(s)
            results.append(finish_detections(torch.cat(boxes), torch.cat(scores), meta, cfg, rescale, with_nms))
        return results
