"""MMDetection 2.x's ``AnchorHead``: the base of anchor-based dense heads
(RetinaNet, RPN-like and user heads).

The 2.x API is kept name for name, so a head written for 2.x by subclassing
``AnchorHead`` (overriding ``_init_layers`` and ``forward_single``, sometimes
``loss_single`` or ``_get_targets_single``) runs here unchanged:

- ``get_anchors(featmap_sizes, img_metas, device)`` -> per image the per-level
  anchors (A_l, 4) and valid flags (A_l,);
- ``get_targets(...)`` -> ``(labels_list, label_weights_list,
  bbox_targets_list, bbox_weights_list, num_total_pos, num_total_neg)``, each
  list per level with entries (N, A_l[, 4]), optionally followed by the
  sampling results and by what a ``_get_targets_single`` override returns in
  addition;
- ``loss(...)`` -> ``dict(loss_cls=[per level], loss_bbox=[per level])``; the
  detector's ``_parse_losses`` sums the lists;
- ``get_bboxes(cls_scores, bbox_preds, img_metas, cfg=None, rescale=False,
  with_nms=True)`` -> per image ``(dets (k, 5), labels (k,))``.

Targets: a :class:`MaxIoUAssigner`-like assigner from ``train_cfg.assigner``
and a sampler: ``PseudoSampler`` (all positives and negatives) when the
classification loss needs no sampling (Focal-type losses, as 2.x, and
VarifocalLoss), else ``train_cfg.sampler`` (e.g. ``RandomSampler``).  Losses
are averaged over ``num_total_pos`` (at least one per image) without sampling,
over ``num_total_pos + num_total_neg`` with it.

Beyond 2.x, ``use_vfl``/``loss_cls_vfl`` (or ``loss_cls`` a VarifocalLoss)
train the classifier with the VFNet paper's IoU-aware target: a positive
anchor's target is the IoU of its decoded box with its gt, at the gt class.
"""
import numpy as np
import torch

from mmdet.core import (anchor_inside_flags, bbox_overlaps, build_anchor_generator, build_assigner,
                        build_bbox_coder, build_sampler, images_to_levels, multi_apply, unmap)
from mmdet.ops import Conv2d, normal_init
from mmdet.runner.fp16 import force_fp32

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, finish_detections, select_vfl

# classification losses that train on every anchor, so need no sampler (2.x's list, and VFL)
NO_SAMPLING_LOSSES = ('FocalLoss', 'GHMC', 'QualityFocalLoss', 'VarifocalLoss')


def _cfg_get(cfg, key, default=None):
    """``cfg[key]`` of a dict or ConfigDict (or an attribute-only object), else ``default``."""
    if cfg is None:
        return default
    if hasattr(cfg, 'get'):
        return cfg.get(key, default)
    return getattr(cfg, key, default)


@HEADS.register_module()
class AnchorHead(BaseDenseHead):
    """Anchor-based head (RPN, RetinaNet, SSD, ...), as MMDetection 2.x's.

    Args:
        num_classes (int): number of categories without the background.
        in_channels (int): channels of the input feature maps.
        feat_channels (int): hidden channels, for subclasses.
        anchor_generator (dict): the anchor generator's config.
        bbox_coder (dict): the box coder's config (deltas <-> boxes).
        reg_decoded_bbox (bool): apply the regression loss to decoded boxes
            against the gt boxes (IoU-type losses) instead of to deltas.
        loss_cls (dict): the classification loss; with ``use_sigmoid`` the
            classifier has ``num_classes`` channels per anchor, else
            ``num_classes + 1`` (the background last).
        loss_bbox (dict): the regression loss.
        train_cfg (dict): ``assigner``, optional ``sampler``, ``allowed_border``
            (-1: every valid anchor), ``pos_weight`` (<= 0: 1).
        test_cfg (dict): ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``.
        use_vfl (bool | None): train with Varifocal Loss ``loss_cls_vfl``
            (the VFNet original's form); None: VFL iff ``loss_cls`` is one.
        loss_cls_vfl (dict | None): the Varifocal Loss for ``use_vfl=True``.
        init_cfg: accepted for later 2.x configs; unused.
    """

    def __init__(self, num_classes, in_channels, feat_channels=256,
                 anchor_generator=dict(type='AnchorGenerator', scales=[8, 16, 32], ratios=[0.5, 1.0, 2.0],
                                       strides=[4, 8, 16, 32, 64]),
                 bbox_coder=dict(type='DeltaXYWHBBoxCoder', clip_border=True, target_means=(.0, .0, .0, .0),
                                 target_stds=(1.0, 1.0, 1.0, 1.0)),
                 reg_decoded_bbox=False,
                 loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
                 loss_bbox=dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 train_cfg=None, test_cfg=None, use_vfl=None, loss_cls_vfl=None, init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        self.use_vfl, loss_cls = select_vfl(type(self).__name__, loss_cls, use_vfl, loss_cls_vfl)
        self.use_sigmoid_cls = loss_cls.get('use_sigmoid', False)
        self.sampling = loss_cls['type'] not in NO_SAMPLING_LOSSES
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        if self.cls_out_channels <= 0:
            raise ValueError(f'num_classes={num_classes} is too small')
        if self.use_vfl and not self.use_sigmoid_cls:
            raise ValueError(f'{type(self).__name__}: Varifocal Loss needs use_sigmoid=True')
        self.reg_decoded_bbox = reg_decoded_bbox

        self.bbox_coder = build_bbox_coder(bbox_coder)
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox = build_loss(loss_bbox)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if self.train_cfg:
            self.assigner = build_assigner(_cfg_get(train_cfg, 'assigner'))
            # PseudoSampler (every assigned anchor) unless the loss samples and a sampler is given
            sampler_cfg = _cfg_get(train_cfg, 'sampler')
            if not self.sampling or sampler_cfg is None:
                sampler_cfg = dict(type='PseudoSampler')
            self.sampler = build_sampler(sampler_cfg, context=self)
        self.fp16_enabled = False

        self.anchor_generator = build_anchor_generator(anchor_generator)
        # the same number of anchors at every location of every level (SSD aside)
        self.num_anchors = self.anchor_generator.num_base_anchors[0]
        self._init_layers()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        """1x1 convs ``conv_cls`` (A * cls_out_channels outputs) and ``conv_reg`` (A * 4)."""
        self.conv_cls = Conv2d(self.in_channels, self.num_anchors * self.cls_out_channels, 1)
        self.conv_reg = Conv2d(self.in_channels, self.num_anchors * 4, 1)

    def init_weights(self):
        normal_init(self.conv_cls, std=0.01)
        normal_init(self.conv_reg, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward_single(self, x):
        """One level: ``x`` (N, in_channels, H, W) -> ``cls_score`` (N, A * cls_out_channels, H, W)
        and ``bbox_pred`` (N, A * 4, H, W)."""
        return self.conv_cls(x), self.conv_reg(x)

    def forward(self, feats):
        """Per-level features -> a tuple of per-level lists, one per ``forward_single`` output
        (``(cls_scores, bbox_preds)`` here)."""
        return multi_apply(self.forward_single, feats)

    # ----------------------------------------------------------------- anchors
    def get_anchors(self, featmap_sizes, img_metas, device='cuda'):
        """Anchors and their valid flags (inside the padded image) for every image.

        Args:
            featmap_sizes (list[tuple]): per level (H, W).
            img_metas (list[dict]): per image meta information (``pad_shape``).
            device (torch.device | str): where the tensors go.

        Returns:
            tuple: ``anchor_list`` (per image, per level (H * W * A, 4); the
            same tensors for every image) and ``valid_flag_list`` (per image,
            per level (H * W * A,) bool).
        """
        multi_level_anchors = self.anchor_generator.grid_anchors(featmap_sizes, device)
        anchor_list = [multi_level_anchors for _ in img_metas]
        valid_flag_list = [self.anchor_generator.valid_flags(featmap_sizes, meta['pad_shape'], device)
                           for meta in img_metas]
        return anchor_list, valid_flag_list

    # ----------------------------------------------------------------- targets
    def _get_targets_single(self, flat_anchors, valid_flags, gt_bboxes, gt_bboxes_ignore, gt_labels, img_meta,
                            label_channels=1, unmap_outputs=True):
        """Targets of one image's anchors, all levels concatenated.

        Args:
            flat_anchors (Tensor): (A, 4) anchors.
            valid_flags (Tensor): (A,) valid flags.
            gt_bboxes (Tensor): (G, 4) gt boxes.
            gt_bboxes_ignore (Tensor | None): (I, 4) boxes to ignore.
            gt_labels (Tensor | None): (G,) gt labels; None (RPN): foreground is label 0.
            img_meta (dict): the image's meta information (``img_shape``).
            label_channels (int): unused, as in 2.x.
            unmap_outputs (bool): map the targets back to all ``A`` anchors;
                else they cover the anchors inside the image only.

        Returns:
            tuple: ``labels`` (A,) long (``num_classes`` = background),
            ``label_weights`` (A,), ``bbox_targets`` (A, 4) (deltas, or gt
            boxes with ``reg_decoded_bbox``), ``bbox_weights`` (A, 4),
            ``pos_inds``, ``neg_inds`` (indices into the inside anchors) and the
            sampling result; ``(None,) * 7`` when no anchor is inside.
        """
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           _cfg_get(self.train_cfg, 'allowed_border', -1))
        if not inside_flags.any():
            return (None,) * 7
        anchors = flat_anchors[inside_flags]
        assign_result = self.assigner.assign(anchors, gt_bboxes, gt_bboxes_ignore,
                                             None if self.sampling else gt_labels)
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)

        num_valid = anchors.shape[0]
        bbox_targets = torch.zeros_like(anchors)
        bbox_weights = torch.zeros_like(anchors)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num_valid, dtype=torch.float)

        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_bbox_targets = sampling_result.pos_gt_bboxes
            else:
                pos_bbox_targets = self.bbox_coder.encode(sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes)
            bbox_targets[pos_inds] = pos_bbox_targets.to(bbox_targets.dtype)
            bbox_weights[pos_inds] = 1.0
            if gt_labels is None:
                labels[pos_inds] = 0  # RPN: the foreground is the first class
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = _cfg_get(self.train_cfg, 'pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0

        if unmap_outputs:
            num_total = flat_anchors.size(0)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
        return labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds, sampling_result

    def get_targets(self, anchor_list, valid_flag_list, gt_bboxes_list, img_metas, gt_bboxes_ignore_list=None,
                    gt_labels_list=None, label_channels=1, unmap_outputs=True, return_sampling_results=False):
        """Targets of every image's anchors, regrouped per level.

        Args:
            anchor_list (list[list[Tensor]]): per image, per level (A_l, 4).
            valid_flag_list (list[list[Tensor]]): per image, per level (A_l,).
            gt_bboxes_list (list[Tensor]): per image (G, 4).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore_list (list[Tensor] | None): per image (I, 4).
            gt_labels_list (list[Tensor] | None): per image (G,).
            label_channels (int): passed on to ``_get_targets_single``.
            unmap_outputs (bool): passed on to ``_get_targets_single``.
            return_sampling_results (bool): also return the per-image sampling results.

        Returns:
            tuple | None: ``labels_list`` (per level (N, A_l)),
            ``label_weights_list`` (per level (N, A_l)), ``bbox_targets_list``
            and ``bbox_weights_list`` (per level (N, A_l, 4)),
            ``num_total_pos`` and ``num_total_neg`` (sums over images of
            max(count, 1)), then the sampling results if asked, then each
            extra return of ``_get_targets_single`` regrouped per level.  None
            when an image has no anchor inside.
        """
        num_imgs = len(img_metas)
        if not len(anchor_list) == len(valid_flag_list) == num_imgs:
            raise ValueError(f'{len(anchor_list)} anchor lists and {len(valid_flag_list)} flag lists '
                             f'for {num_imgs} images')
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchors = [torch.cat(anchors) for anchors in anchor_list]
        concat_flags = [torch.cat(flags) for flags in valid_flag_list]
        if gt_bboxes_ignore_list is None:
            gt_bboxes_ignore_list = [None] * num_imgs
        if gt_labels_list is None:
            gt_labels_list = [None] * num_imgs
        results = multi_apply(self._get_targets_single, concat_anchors, concat_flags, gt_bboxes_list,
                              gt_bboxes_ignore_list, gt_labels_list, img_metas, label_channels=label_channels,
                              unmap_outputs=unmap_outputs)
        (all_labels, all_label_weights, all_bbox_targets, all_bbox_weights, pos_inds_list, neg_inds_list,
         sampling_results_list) = results[:7]
        rest_results = list(results[7:])  # what a _get_targets_single override adds
        if any(labels is None for labels in all_labels):
            return None
        num_total_pos = sum(max(inds.numel(), 1) for inds in pos_inds_list)
        num_total_neg = sum(max(inds.numel(), 1) for inds in neg_inds_list)
        res = (images_to_levels(all_labels, num_level_anchors),
               images_to_levels(all_label_weights, num_level_anchors),
               images_to_levels(all_bbox_targets, num_level_anchors),
               images_to_levels(all_bbox_weights, num_level_anchors), num_total_pos, num_total_neg)
        if return_sampling_results:
            res = res + (list(sampling_results_list),)
        return res + tuple(images_to_levels(list(r), num_level_anchors) for r in rest_results)

    # -------------------------------------------------------------------- loss
    def loss_single(self, cls_score, bbox_pred, anchors, labels, label_weights, bbox_targets, bbox_weights,
                    num_total_samples):
        """Losses of one level.

        Args:
            cls_score (Tensor): (N, A * cls_out_channels, H, W).
            bbox_pred (Tensor): (N, A * 4, H, W).
            anchors (Tensor): (N, H * W * A, 4).
            labels (Tensor): (N, H * W * A); ``num_classes`` = background.
            label_weights (Tensor): (N, H * W * A).
            bbox_targets (Tensor): (N, H * W * A, 4) deltas (gt boxes with
                ``reg_decoded_bbox``).
            bbox_weights (Tensor): (N, H * W * A, 4).
            num_total_samples (int | float): the average factor, over all
                images and levels.

        Returns:
            tuple[Tensor]: ``loss_cls`` and ``loss_bbox`` of the level (scalars).
        """
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        bbox_targets = bbox_targets.reshape(-1, 4)
        bbox_weights = bbox_weights.reshape(-1, 4)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        anchors = anchors.reshape(-1, 4)
        # the regression loss only sees anchors with a weight: the others add 0 to it in 2.x
        pos = (bbox_weights > 0).any(dim=1).nonzero(as_tuple=False).squeeze(1)

        if self.use_vfl:
            pos_cls = ((labels >= 0) & (labels < self.num_classes)).nonzero(as_tuple=False).squeeze(1)
            pos_anchors = anchors[pos_cls]
            decoded = self.bbox_coder.decode(pos_anchors, bbox_pred[pos_cls].detach())
            gts = bbox_targets[pos_cls] if self.reg_decoded_bbox else self.bbox_coder.decode(
                pos_anchors, bbox_targets[pos_cls])
            targets = torch.zeros_like(cls_score)
            # no clamp: a positive whose box misses its gt entirely is a VFL negative, as in the original
            targets[pos_cls, labels[pos_cls]] = bbox_overlaps(decoded, gts, is_aligned=True).to(targets.dtype)
            loss_cls = self.loss_cls(cls_score, targets, label_weights[:, None], avg_factor=num_total_samples)
        else:
            loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=num_total_samples)

        if pos.numel() == 0:
            return loss_cls, bbox_pred[pos].sum() * 0
        pos_pred = bbox_pred[pos]
        if self.reg_decoded_bbox:
            pos_pred = self.bbox_coder.decode(anchors[pos], pos_pred)
        loss_bbox = self.loss_bbox(pos_pred, bbox_targets[pos], bbox_weights[pos], avg_factor=num_total_samples)
        return loss_cls, loss_bbox

    @force_fp32(apply_to=('cls_scores', 'bbox_preds'))
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """Losses of the head, per level.

        Args:
            cls_scores (list[Tensor]): per level (N, A * cls_out_channels, H, W).
            bbox_preds (list[Tensor]): per level (N, A * 4, H, W).
            gt_bboxes (list[Tensor]): per image (G, 4) as (x1, y1, x2, y2).
            gt_labels (list[Tensor] | None): per image (G,).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore (list[Tensor] | None): per image (I, 4).

        Returns:
            dict[str, list[Tensor]]: ``loss_cls`` and ``loss_bbox``, one scalar
            per level (their sums are the head's losses); None when an image
            has no anchor inside (as 2.x).
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels for {self.anchor_generator.num_levels} '
                             'anchor generator levels')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        cls_reg_targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                           gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
                                           label_channels=label_channels)
        if cls_reg_targets is None:
            return None
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, num_total_pos,
         num_total_neg) = cls_reg_targets[:6]
        num_total_samples = num_total_pos + num_total_neg if self.sampling else num_total_pos

        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_anchor_list = images_to_levels([torch.cat(anchors) for anchors in anchor_list], num_level_anchors)
        losses_cls, losses_bbox = multi_apply(self.loss_single, [c.float() for c in cls_scores],
                                              [b.float() for b in bbox_preds], all_anchor_list, labels_list,
                                              label_weights_list, bbox_targets_list, bbox_weights_list,
                                              num_total_samples=num_total_samples)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)

    # ------------------------------------------------------------------ decode
    @force_fp32(apply_to=('cls_scores', 'bbox_preds'))
    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=False, with_nms=True):
        """Detections of every image.

        Args:
            cls_scores (list[Tensor]): per level (N, A * cls_out_channels, H, W).
            bbox_preds (list[Tensor]): per level (N, A * 4, H, W).
            img_metas (list[dict]): per image meta information (``img_shape``,
                ``scale_factor``).
            cfg (dict | None): test config; None: ``test_cfg``.
            rescale (bool): boxes in original-image coordinates.
            with_nms (bool): run multi-class NMS.

        Returns:
            list[tuple[Tensor, Tensor]]: per image ``(dets (k, 5), labels
            (k,))`` with ``dets`` rows (x1, y1, x2, y2, score); without NMS
            ``(boxes (n, 4), scores (n, num_classes + 1))``, the background
            score last.
        """
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{len(cls_scores)} score maps but {len(bbox_preds)} box maps')
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [cls_scores[i].shape[-2:] for i in range(len(cls_scores))]
        mlvl_anchors = self.anchor_generator.grid_anchors(featmap_sizes, device=cls_scores[0].device)
        img_shapes = [meta['img_shape'] for meta in img_metas]
        scale_factors = [meta['scale_factor'] for meta in img_metas]
        return self._get_bboxes([c.detach() for c in cls_scores], [b.detach() for b in bbox_preds], mlvl_anchors,
                                img_shapes, scale_factors, cfg, rescale, with_nms)

    def _get_bboxes(self, mlvl_cls_scores, mlvl_bbox_preds, mlvl_anchors, img_shapes, scale_factors, cfg,
                    rescale=False, with_nms=True):
        """Batched decoding (the 2.x name).

        Args:
            mlvl_cls_scores (list[Tensor]): per level (N, A * cls_out_channels, H, W).
            mlvl_bbox_preds (list[Tensor]): per level (N, A * 4, H, W).
            mlvl_anchors (list[Tensor]): per level (H * W * A, 4).
            img_shapes (list[tuple]): per image (h, w[, c]).
            scale_factors (list): per image (4,) (w, h, w, h) scales.
            cfg (dict): test config.

        Returns:
            list[tuple]: as :meth:`get_bboxes`.

        Per level the top ``nms_pre`` anchors by their best class score are
        kept (chosen for all images at once), decoded with each image's
        ``img_shape`` as the limit, then NMS runs per image.
        """
        num_imgs = len(img_shapes)
        nms_pre = _cfg_get(cfg, 'nms_pre', -1)
        boxes = [[] for _ in range(num_imgs)]
        scores = [[] for _ in range(num_imgs)]
        for cls_score, bbox_pred, anchors in zip(mlvl_cls_scores, mlvl_bbox_preds, mlvl_anchors):
            if cls_score.size()[-2:] != bbox_pred.size()[-2:]:
                raise ValueError('score and box maps of a level differ in size')
            cls_score = cls_score.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
            s = cls_score.sigmoid() if self.use_sigmoid_cls else cls_score.softmax(-1)  # (N, A, C[+1])
            d = bbox_pred.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4)
            anc = anchors.expand(num_imgs, -1, 4)
            if 0 < nms_pre < s.shape[1]:
                best = s.max(dim=2).values if self.use_sigmoid_cls else s[..., :-1].max(dim=2).values
                _, topk = best.topk(nms_pre, dim=1)  # (N, nms_pre)
                anc = anc.gather(1, topk[..., None].expand(-1, -1, 4))
                d = d.gather(1, topk[..., None].expand(-1, -1, 4))
                s = s.gather(1, topk[..., None].expand(-1, -1, s.shape[-1]))
            for i in range(num_imgs):
                boxes[i].append(self.bbox_coder.decode(anc[i], d[i], max_shape=img_shapes[i]))
                scores[i].append(s[i])
        return [finish_detections(torch.cat(boxes[i]), torch.cat(scores[i]),
                                  dict(scale_factor=np.asarray(scale_factors[i], dtype=np.float32)), cfg, rescale,
                                  with_nms, scores_have_bg=not self.use_sigmoid_cls)
                for i in range(num_imgs)]
