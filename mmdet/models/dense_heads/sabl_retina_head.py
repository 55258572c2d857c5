"""SABL RetinaNet head (Wang et al., "Side-Aware Boundary Localization for
More Precise Object Detection", ECCV 2020): MMDetection 2.x's ``SABLRetinaHead``.

Layers: two towers of ``stacked_convs`` 3x3 convs (as RetinaNet's); on the
classification tower ``retina_cls`` (num_classes per location), on the
regression tower ``retina_bbox_cls`` (bucket logits) and ``retina_bbox_reg``
(bucket offsets), each ``4 * side_num`` channels: per side (left, right, top,
down) ``side_num = ceil(num_buckets / 2)`` values.

Priors: one *square* per location (``square_anchor_generator``, side
``octave_base_scale * stride``) and, for the assignment only, the location's
RetinaNet anchors as *approxs* (``approx_anchor_generator``).  A location is
inside the image when any of its approxs is (``train_cfg.allowed_border``).

Targets: :class:`ApproxMaxIoUAssigner` assigns gts to squares by the best IoU
of their approxs; positives get their gt's class and the
:class:`BucketingBBoxCoder` targets of the gt at the square.

Losses (one scalar each over the batch; the sum of 2.x's per-level terms):
``loss_cls`` (Focal, averaged over the positives), ``loss_bbox_cls`` (sigmoid
CE of the buckets, averaged over ``positives * 4 * side_num``),
``loss_bbox_reg`` (smooth L1 of the offsets, over ``positives * 4 *
offset_topk``).

Decoding: per level the ``nms_pre`` best locations, boxes from the top bucket
and its offset per side, and NMS with the class scores multiplied by the
bucketing-guided localisation confidence.
"""
import numpy as np
import torch
import torch.nn as nn

from mmdet.core import (anchor_inside_flags, build_anchor_generator, build_assigner, build_bbox_coder,
                        build_sampler, unmap)
from mmdet.ops import Conv2d, bias_init_with_prob, normal_init
from mmdet.runner.fp16 import force_fp32

from ..builder import HEADS, build_loss
from .anchor_head import NO_SAMPLING_LOSSES, _cfg_get
from .base_dense_head import BaseDenseHead, conv_tower, finish_detections


class BucketPreds(tuple):
    """One level's ``(bbox_cls_pred, bbox_reg_pred)``, the pair 2.x's head returns as ``bbox_pred``.

    A tuple, unpacked as in 2.x; ``float()`` casts both maps (test-time decoding runs in float32)."""

    def float(self):
        return BucketPreds(t.float() for t in self)


@HEADS.register_module()
class SABLRetinaHead(BaseDenseHead):
    """Side-aware boundary localisation on RetinaNet.

    Args:
        num_classes (int): categories without the background.
        in_channels (int): channels of the input feature maps.
        stacked_convs (int): 3x3 convs per tower.
        feat_channels (int): channels of the towers.
        approx_anchor_generator (dict): the approxs (RetinaNet anchors).
        square_anchor_generator (dict): the squares (``ratios=[1.0]``, one
            scale equal to the approxs' ``octave_base_scale``, same strides).
        conv_cfg (dict | None), norm_cfg (dict | None): of the tower convs.
        bbox_coder (dict): a :class:`BucketingBBoxCoder`.
        reg_decoded_bbox (bool): accepted for 2.x configs; must be False.
        train_cfg (dict): ``assigner`` (an ``ApproxMaxIoUAssigner``), optional
            ``sampler``, ``allowed_border``, ``pos_weight``.
        test_cfg (dict): ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.
        loss_cls (dict): classification loss (sigmoid: ``num_classes``
            outputs, else ``num_classes + 1``).
        loss_bbox_cls (dict): bucket classification loss (sigmoid CE).
        loss_bbox_reg (dict): bucket offset loss.
        init_cfg: accepted for later 2.x configs; unused.

    Outputs per level: ``cls_score`` (N, cls_out_channels, H, W) and
    ``bbox_pred`` = :class:`BucketPreds` ``(bbox_cls_pred, bbox_reg_pred)``,
    each (N, 4 * side_num, H, W).
    """

    def __init__(self, num_classes, in_channels, stacked_convs=4, feat_channels=256,
                 approx_anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4, scales_per_octave=3,
                                              ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
                 square_anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], scales=[4],
                                              strides=[8, 16, 32, 64, 128]),
                 conv_cfg=None, norm_cfg=None,
                 bbox_coder=dict(type='BucketingBBoxCoder', num_buckets=14, scale_factor=3.0),
                 reg_decoded_bbox=False, train_cfg=None, test_cfg=None,
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.5),
                 loss_bbox_reg=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.5), init_cfg=None):
        super().__init__(init_cfg)
        square_scales = list(square_anchor_generator.get('scales') or [None])
        if approx_anchor_generator.get('octave_base_scale') != square_scales[0]:
            raise ValueError('SABLRetinaHead: square_anchor_generator.scales[0] must equal '
                             'approx_anchor_generator.octave_base_scale, got '
                             f"{square_anchor_generator.get('scales')} and "
                             f"{approx_anchor_generator.get('octave_base_scale')}")
        if list(approx_anchor_generator['strides']) != list(square_anchor_generator['strides']):
            raise ValueError('SABLRetinaHead: approx_anchor_generator and square_anchor_generator need the same '
                             f"strides, got {approx_anchor_generator['strides']} and "
                             f"{square_anchor_generator['strides']}")
        if reg_decoded_bbox:
            raise ValueError('SABLRetinaHead: reg_decoded_bbox=True is not supported (bucket targets are not boxes)')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.stacked_convs, self.feat_channels = stacked_convs, feat_channels
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        self.reg_decoded_bbox = reg_decoded_bbox

        self.approx_anchor_generator = build_anchor_generator(approx_anchor_generator)
        self.square_anchor_generator = build_anchor_generator(square_anchor_generator)
        self.approxs_per_octave = self.approx_anchor_generator.num_base_anchors[0]
        if self.square_anchor_generator.num_base_anchors[0] != 1:
            raise ValueError('SABLRetinaHead: square_anchor_generator must give one square per location '
                             '(ratios=[1.0] and one scale)')
        self.num_anchors = 1

        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.num_buckets = self.bbox_coder.num_buckets
        self.side_num = int(np.ceil(self.num_buckets / 2))

        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.sampling = loss_cls['type'] not in NO_SAMPLING_LOSSES
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox_cls = build_loss(loss_bbox_cls)
        self.loss_bbox_reg = build_loss(loss_bbox_reg)

        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        if self.train_cfg:
            self.assigner = build_assigner(_cfg_get(train_cfg, 'assigner'))
            sampler_cfg = _cfg_get(train_cfg, 'sampler')
            if not self.sampling or sampler_cfg is None:
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(sampler_cfg, context=self)
        self.fp16_enabled = False
        self._init_layers()
        self.init_weights()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                                     self.conv_cfg, self.norm_cfg) for _ in range(2))
        self.retina_cls = Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.retina_bbox_reg = Conv2d(self.feat_channels, self.side_num * 4, 3, padding=1)
        self.retina_bbox_cls = Conv2d(self.feat_channels, self.side_num * 4, 3, padding=1)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.retina_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.retina_bbox_reg, std=0.01)
        normal_init(self.retina_bbox_cls, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward_single(self, x):
        """One level: ``x`` (N, in_channels, H, W) -> ``cls_score`` (N, cls_out_channels, H, W) and
        ``BucketPreds(bbox_cls_pred, bbox_reg_pred)``, each (N, 4 * side_num, H, W)."""
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        bbox_pred = BucketPreds((self.retina_bbox_cls(reg_feat), self.retina_bbox_reg(reg_feat)))
        return self.retina_cls(cls_feat), bbox_pred

    def forward(self, feats):
        """Per-level features -> ``(cls_scores, bbox_preds)``, per-level lists."""
        outs = [self.forward_single(x) for x in feats]
        return [o[0] for o in outs], [o[1] for o in outs]

    # ------------------------------------------------------------------ priors
    def get_anchors(self, featmap_sizes, img_metas, device='cuda'):
        """The squares: per image, per level (H * W, 4) (the same tensors for every image)."""
        squares = self.square_anchor_generator.grid_anchors(featmap_sizes, device=device)
        return [squares for _ in img_metas]

    def get_sampled_approxs(self, featmap_sizes, img_metas, device='cuda'):
        """The approxs and which locations are inside each image.

        Returns:
            tuple: ``approxs_list`` (per image, per level (H * W * A, 4), A =
            ``approxs_per_octave``, a location's approxs consecutive) and
            ``inside_flag_list`` (per image, per level (H * W,) bool: any of
            the location's approxs is valid and inside the image, with
            ``train_cfg.allowed_border``).
        """
        approxs = self.approx_anchor_generator.grid_anchors(featmap_sizes, device=device)
        allowed_border = _cfg_get(self.train_cfg, 'allowed_border', -1)
        inside_flag_list = []
        for meta in img_metas:
            valid = self.approx_anchor_generator.valid_flags(featmap_sizes, meta['pad_shape'], device=device)
            inside_flag_list.append([
                anchor_inside_flags(a, v, meta['img_shape'][:2], allowed_border).view(-1, self.approxs_per_octave)
                .any(dim=1) for a, v in zip(approxs, valid)])
        return [approxs for _ in img_metas], inside_flag_list

    # ----------------------------------------------------------------- targets
    def _get_target_single(self, flat_approxs, inside_flags, flat_squares, gt_bboxes, gt_bboxes_ignore, gt_labels,
                           img_meta=None, label_channels=None, sampling=True, unmap_outputs=True):
        """Targets of one image's squares, all levels concatenated.

        Args:
            flat_approxs (Tensor): (S * A, 4) approxs, A per square.
            inside_flags (Tensor): (S,) bool.
            flat_squares (Tensor): (S, 4) squares.
            gt_bboxes (Tensor): (G, 4).
            gt_bboxes_ignore (Tensor | None): (I, 4).
            gt_labels (Tensor | None): (G,); None: the foreground is label 0.
            img_meta, label_channels, sampling: accepted as 2.x; unused.
            unmap_outputs (bool): targets for all S squares (else the inside ones).

        Returns:
            tuple: ``labels`` (S,) long (``num_classes`` = background),
            ``label_weights`` (S,), ``bbox_cls_targets``, ``bbox_cls_weights``,
            ``bbox_reg_targets``, ``bbox_reg_weights`` (S, 4 * side_num),
            ``pos_inds``, ``neg_inds`` (into the inside squares);
            ``(None,) * 8`` when no square is inside.
        """
        if not inside_flags.any():
            return (None,) * 8
        approxs = flat_approxs.view(-1, self.approxs_per_octave, 4)[inside_flags].reshape(-1, 4)
        squares = flat_squares[inside_flags]
        assign_result = self.assigner.assign(approxs, squares, self.approxs_per_octave, gt_bboxes, gt_bboxes_ignore)
        sampling_result = self.sampler.sample(assign_result, squares, gt_bboxes)

        num_valid, width = squares.size(0), 4 * self.side_num
        bbox_targets = [squares.new_zeros((num_valid, width)) for _ in range(4)]  # cls t/w, reg t/w
        labels = squares.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = squares.new_zeros(num_valid, dtype=torch.float)
        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds) > 0:
            offsets, offset_weights, bucket_labels, bucket_weights = self.bbox_coder.encode(
                sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes)
            for t, value in zip(bbox_targets, (bucket_labels, bucket_weights, offsets, offset_weights)):
                t[pos_inds] = value.to(t.dtype)
            labels[pos_inds] = 0 if gt_labels is None else gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = _cfg_get(self.train_cfg, 'pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0

        if unmap_outputs:
            num_total = flat_squares.size(0)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = [unmap(t, num_total, inside_flags) for t in bbox_targets]
        return (labels, label_weights, *bbox_targets, pos_inds, neg_inds)

    def get_target(self, approx_list, inside_flag_list, square_list, gt_bboxes_list, img_metas,
                   gt_bboxes_ignore_list=None, gt_labels_list=None, label_channels=None, sampling=True,
                   unmap_outputs=True):
        """Targets of the batch, flat (2.x's name and arguments; 2.x returns them per level).

        Args:
            approx_list, inside_flag_list (list[list[Tensor]]): from
                :meth:`get_sampled_approxs`.
            square_list (list[list[Tensor]]): from :meth:`get_anchors`.
            gt_bboxes_list (list[Tensor]): per image (G, 4).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore_list (list[Tensor] | None), gt_labels_list (list[Tensor] | None): per image.

        Returns:
            tuple | None: ``labels``, ``label_weights`` (N, S) and
            ``bbox_cls_targets``, ``bbox_cls_weights``, ``bbox_reg_targets``,
            ``bbox_reg_weights`` (N, S, 4 * side_num), S the squares of all
            levels; then ``num_total_pos``, ``num_total_neg`` (sums over the
            images of max(count, 1)).  None when an image has no square inside.
        """
        num_imgs = len(img_metas)
        if not len(approx_list) == len(inside_flag_list) == len(square_list) == num_imgs:
            raise ValueError(f'{len(approx_list)} approx, {len(inside_flag_list)} flag and {len(square_list)} '
                             f'square lists for {num_imgs} images')
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        per_img = [self._get_target_single(torch.cat(approx_list[i]), torch.cat(inside_flag_list[i]),
                                           torch.cat(square_list[i]), gt_bboxes_list[i], gt_bboxes_ignore_list[i],
                                           gt_labels_list[i], img_metas[i], unmap_outputs=unmap_outputs)
                   for i in range(num_imgs)]
        if any(r[0] is None for r in per_img):
            return None
        targets = tuple(torch.stack([r[k] for r in per_img]) for k in range(6))
        num_total_pos = sum(max(r[6].numel(), 1) for r in per_img)
        num_total_neg = sum(max(r[7].numel(), 1) for r in per_img)
        return targets + (num_total_pos, num_total_neg)

    get_targets = get_target

    # -------------------------------------------------------------------- loss
    @force_fp32(apply_to=('cls_scores', 'bbox_preds'))
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """Losses of the head.

        Args:
            cls_scores (list[Tensor]): per level (N, cls_out_channels, H, W).
            bbox_preds (list[tuple[Tensor]]): per level ``(bbox_cls_pred, bbox_reg_pred)``,
                each (N, 4 * side_num, H, W).
            gt_bboxes (list[Tensor]): per image (G, 4).
            gt_labels (list[Tensor] | None): per image (G,).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore (list[Tensor] | None): per image (I, 4).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox_cls``, ``loss_bbox_reg``;
            None when an image has no square inside.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.approx_anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels for '
                             f'{self.approx_anchor_generator.num_levels} anchor generator levels')
        device = cls_scores[0].device
        approxs_list, inside_flag_list = self.get_sampled_approxs(featmap_sizes, img_metas, device=device)
        square_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        targets = self.get_target(approxs_list, inside_flag_list, square_list, gt_bboxes, img_metas,
                                  gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels)
        if targets is None:
            return None
        labels, label_weights, cls_t, cls_w, reg_t, reg_w, num_total_pos, num_total_neg = targets
        num_total_samples = num_total_pos + num_total_neg if self.sampling else num_total_pos

        width = 4 * self.side_num

        def flat(maps, channels):  # per level (N, C, H, W) -> (N * S, C), image-major as the targets
            return torch.cat([m.float().permute(0, 2, 3, 1).reshape(m.size(0), -1, channels) for m in maps],
                             dim=1).reshape(-1, channels)

        cls_score = flat(cls_scores, self.cls_out_channels)
        bucket_cls = flat([p[0] for p in bbox_preds], width)
        bucket_reg = flat([p[1] for p in bbox_preds], width)
        loss_cls = self.loss_cls(cls_score, labels.reshape(-1), label_weights.reshape(-1),
                                 avg_factor=num_total_samples)
        # only the positives have bucket weights
        pos = (labels.reshape(-1) >= 0) & (labels.reshape(-1) < self.num_classes)
        cls_t, cls_w = cls_t.reshape(-1, width)[pos], cls_w.reshape(-1, width)[pos]
        reg_t, reg_w = reg_t.reshape(-1, width)[pos], reg_w.reshape(-1, width)[pos]
        if pos.any():
            loss_bbox_cls = self.loss_bbox_cls(bucket_cls[pos], cls_t.long(), cls_w,
                                               avg_factor=num_total_samples * 4 * self.side_num)
            loss_bbox_reg = self.loss_bbox_reg(bucket_reg[pos], reg_t, reg_w,
                                               avg_factor=num_total_samples * 4 * self.bbox_coder.offset_topk)
        else:
            loss_bbox_cls, loss_bbox_reg = bucket_cls.sum() * 0, bucket_reg.sum() * 0
        return dict(loss_cls=loss_cls, loss_bbox_cls=loss_bbox_cls, loss_bbox_reg=loss_bbox_reg)

    # ------------------------------------------------------------------ decode
    @force_fp32(apply_to=('cls_scores', 'bbox_preds'))
    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        """Detections of every image.

        Args:
            cls_scores (list[Tensor]): per level (N, cls_out_channels, H, W).
            bbox_preds (list[tuple[Tensor]]): per level ``(bbox_cls_pred, bbox_reg_pred)``.
            img_metas (list[dict]): per image (``img_shape``, ``scale_factor``).
            cfg (dict | None): test config; None: ``test_cfg``.
            rescale (bool): boxes in original-image coordinates.
            with_nms (bool): run multi-class NMS.

        Returns:
            list[tuple]: per image ``(dets (k, 5), labels (k,))``; without NMS
            ``(boxes (n, 4), scores (n, num_classes + 1), loc_confidence (n,))``.
        """
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} score maps but {len(bbox_preds)} bucket maps')
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [c.shape[-2:] for c in cls_scores]
        mlvl_squares = self.square_anchor_generator.grid_anchors(featmap_sizes, device=cls_scores[0].device)
        num_imgs, width = len(img_metas), 4 * self.side_num
        nms_pre = _cfg_get(cfg, 'nms_pre', -1)
        boxes, scores, confids = ([[] for _ in range(num_imgs)] for _ in range(3))
        for cls_score, (bucket_cls, bucket_reg), squares in zip(cls_scores, bbox_preds, mlvl_squares):
            cls_score = cls_score.detach().permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
            s = cls_score.sigmoid() if self.use_sigmoid_cls else cls_score.softmax(-1)  # (N, S, C[+1])
            bc = bucket_cls.detach().permute(0, 2, 3, 1).reshape(num_imgs, -1, width)
            br = bucket_reg.detach().permute(0, 2, 3, 1).reshape(num_imgs, -1, width)
            sq = squares.expand(num_imgs, -1, 4)
            if 0 < nms_pre < s.shape[1]:
                best = s.max(dim=2).values if self.use_sigmoid_cls else s[..., :-1].max(dim=2).values
                topk = best.topk(nms_pre, dim=1).indices[..., None]  # (N, nms_pre, 1)
                sq, bc, br = (t.gather(1, topk.expand(-1, -1, t.size(2))) for t in (sq, bc, br))
                s = s.gather(1, topk.expand(-1, -1, s.size(2)))
            for i in range(num_imgs):
                b, c = self.bbox_coder.decode(sq[i], (bc[i], br[i]), max_shape=img_metas[i]['img_shape'])
                boxes[i].append(b)
                scores[i].append(s[i])
                confids[i].append(c)
        return [finish_detections(torch.cat(boxes[i]), torch.cat(scores[i]),
                                  dict(scale_factor=np.asarray(img_metas[i]['scale_factor'], dtype=np.float32)),
                                  cfg, rescale, with_nms, score_factors=torch.cat(confids[i]),
                                  scores_have_bg=not self.use_sigmoid_cls)
                for i in range(num_imgs)]
