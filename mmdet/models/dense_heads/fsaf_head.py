"""FSAF head (Zhu et al., "Feature Selective Anchor-Free Module for Single-Shot
Object Detection", CVPR 2019): MMDetection 2.x's ``FSAFHead``, the anchor-free
branch on a RetinaNet head.

Layers and forward are :class:`RetinaHead`'s with one "anchor" (a square of
the level's stride) per pixel and a ReLU on the box output: it predicts the
(top, bottom, left, right) distances of the box from the pixel, normalised by
the stride and the :class:`TBLRBBoxCoder`'s ``normalizer``.

Targets: :class:`CenterRegionAssigner` on every level (the gt's ``pos_scale``
core gives the positives; pixels shadowed by another gt ignore that gt's class
only, so the classification weights are per (pixel, class)).

Loss, with *online feature selection*: the element-wise Focal loss (summed
over classes) plus the IoU loss of the decoded box (``reg_decoded_bbox``) is
averaged, per gt and per level, over the gt's positives at that level; each
gt is trained only at the level of the smallest average.  At the other levels
its positives lose their regression weight and their classification weight
at the gt's class (they stay negatives for the other classes).  Both losses
are then summed and divided by the number of remaining positives.  The
``num_pos`` (per image) and ``pos_recall`` (top-1 accuracy of the remaining
positives, in percent, a score above ``score_threshold`` if given) entries are
logged, not trained.

Decoding is :class:`AnchorHead`'s.
"""
import torch

from mmdet.core import anchor_inside_flags, images_to_levels, unmap
from mmdet.ops import normal_init
from mmdet.runner.fp16 import force_fp32

from ..builder import HEADS
from .anchor_head import _cfg_get
from .retina_head import RetinaHead


# ----------------------------------------------------------------------------- the head
@HEADS.register_module()
class FSAFHead(RetinaHead):
    """The anchor-free FSAF branch.

    Args:
        *args: as :class:`RetinaHead` (the configs give one anchor per pixel,
            ``TBLRBBoxCoder``, ``reg_decoded_bbox=True``, Focal and IoU losses
            with ``reduction='none'``).
        score_threshold (float | None): a positive counts as recalled in
            ``pos_recall`` only with a score above this.
        **kwargs: as :class:`RetinaHead`.

    Outputs per level: ``cls_score`` (N, A * num_classes, H, W) and
    ``bbox_pred`` (N, A * 4, H, W), non-negative (A = 1 in the configs).
    """

    def __init__(self, *args, score_threshold=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.use_vfl:
            raise ValueError('FSAFHead does not support the Varifocal Loss option')
        self.score_threshold = score_threshold

    # ------------------------------------------------------------------ layers
    def init_weights(self):
        super().init_weights()
        # a positive bias: the initial boxes have a non-zero area
        normal_init(self.retina_reg, std=0.01, bias=0.25)

    # ----------------------------------------------------------------- forward
    def forward_single(self, x):
        """One level: ``x`` (N, C, H, W) -> ``cls_score`` (N, A * num_classes, H, W)
        and ``bbox_pred`` (N, A * 4, H, W) >= 0 (the TBLR coder needs distances)."""
        cls_score, bbox_pred = super().forward_single(x)
        return cls_score, self.relu(bbox_pred)

    # ----------------------------------------------------------------- targets
    def _get_targets_single(self, flat_anchors, valid_flags, gt_bboxes, gt_bboxes_ignore, gt_labels, img_meta,
                            label_channels=1, unmap_outputs=True):
        """Targets of one image's anchors (all levels concatenated).

        As :meth:`AnchorHead._get_targets_single` (same first seven returns)
        except that ``label_weights`` is (A, label_channels): the assigner's
        ``shadowed_labels`` pairs get weight 0 at their class only; the eighth
        return ``pos_gt_inds`` (A,) is the 0-based gt of each positive, -1
        elsewhere.
        """
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'][:2],
                                           _cfg_get(self.train_cfg, 'allowed_border', -1))
        if not inside_flags.any():
            return (None,) * 8
        anchors = flat_anchors[inside_flags]
        assign_result = self.assigner.assign(anchors, gt_bboxes, gt_bboxes_ignore,
                                             None if self.sampling else gt_labels)
        sampling_result = self.sampler.sample(assign_result, anchors, gt_bboxes)

        num_valid = anchors.shape[0]
        bbox_targets = torch.zeros_like(anchors)
        bbox_weights = torch.zeros_like(anchors)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros((num_valid, label_channels), dtype=torch.float)
        pos_gt_inds = anchors.new_full((num_valid,), -1, dtype=torch.long)

        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_bbox_targets = sampling_result.pos_gt_bboxes
            else:
                pos_bbox_targets = self.bbox_coder.encode(sampling_result.pos_bboxes, sampling_result.pos_gt_bboxes)
            bbox_targets[pos_inds] = pos_bbox_targets.to(bbox_targets.dtype)
            bbox_weights[pos_inds] = 1.0
            pos_gt_inds[pos_inds] = sampling_result.pos_assigned_gt_inds
            if gt_labels is None:
                labels[pos_inds] = 0
            else:
                labels[pos_inds] = gt_labels[sampling_result.pos_assigned_gt_inds]
            pos_weight = _cfg_get(self.train_cfg, 'pos_weight', -1)
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0

        # pixels in the outer region of a gt (or in the core of a larger one): only that class is ignored
        shadowed = assign_result.get_extra_property('shadowed_labels')
        if shadowed is not None and shadowed.numel():
            if shadowed.dim() == 2:
                idx, cls = shadowed[:, 0], shadowed[:, 1]
                if (labels[idx] == cls).any():
                    raise RuntimeError('FSAFHead: a label cannot be both positive and ignored')
                label_weights[idx, cls] = 0
            else:
                label_weights[shadowed] = 0

        if unmap_outputs:
            num_total = flat_anchors.size(0)
            labels = unmap(labels, num_total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, num_total, inside_flags)
            bbox_targets = unmap(bbox_targets, num_total, inside_flags)
            bbox_weights = unmap(bbox_weights, num_total, inside_flags)
            pos_gt_inds = unmap(pos_gt_inds, num_total, inside_flags, fill=-1)
        return (labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds, sampling_result,
                pos_gt_inds)

    # -------------------------------------------------------------------- loss
    def loss_single(self, cls_score, bbox_pred, anchors, labels, label_weights, bbox_targets, bbox_weights,
                    num_total_samples=None):
        """Element-wise losses of one level (the reduction comes later).

        Args:
            cls_score (Tensor): (N, A * C, H, W).
            bbox_pred (Tensor): (N, A * 4, H, W).
            anchors (Tensor): (N, H * W * A, 4).
            labels (Tensor): (N, H * W * A).
            label_weights (Tensor): (N, H * W * A, C).
            bbox_targets, bbox_weights (Tensor): (N, H * W * A, 4).
            num_total_samples: unused (element-wise losses are not averaged).

        Returns:
            tuple[Tensor]: ``loss_cls`` (M, C) and ``loss_bbox`` (M,) (or
            (M, 4) for a coordinate-wise loss), M = N * H * W * A.
        """
        c = self.cls_out_channels
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, c)
        loss_cls = self.loss_cls(cls_score, labels.reshape(-1), label_weights.reshape(-1, c),
                                 reduction_override='none')
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4)
        if self.reg_decoded_bbox:
            bbox_pred = self.bbox_coder.decode(anchors.reshape(-1, 4), bbox_pred)
        loss_bbox = self.loss_bbox(bbox_pred, bbox_targets.reshape(-1, 4), bbox_weights.reshape(-1, 4),
                                   reduction_override='none')
        if loss_bbox.dim() == 0:  # no positive here: the loss returned a (zero) scalar
            loss_bbox = loss_bbox.expand(bbox_pred.size(0))
        return loss_cls, loss_bbox

    @force_fp32(apply_to=('cls_scores', 'bbox_preds'))
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """Losses of the head, with online feature selection.

        Args:
            cls_scores (list[Tensor]): per level (N, A * C, H, W).
            bbox_preds (list[Tensor]): per level (N, A * 4, H, W).
            gt_bboxes (list[Tensor]): per image (G_i, 4).
            gt_labels (list[Tensor]): per image (G_i,).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore (list[Tensor] | None): per image (I_i, 4).

        Returns:
            dict: ``loss_cls`` and ``loss_bbox`` (one scalar per level),
            ``num_pos`` (positives per image) and ``pos_recall`` (percent);
            None when an image has no anchor inside.
        """
        bbox_preds = [b.clamp(min=1e-4) for b in bbox_preds]  # no zero-area boxes
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels for {self.anchor_generator.num_levels} '
                             'anchor generator levels')
        device = cls_scores[0].device
        batch_size = len(gt_bboxes)
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                   gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
                                   label_channels=label_channels)
        if targets is None:
            return None
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, num_total_pos, num_total_neg,
         pos_gt_inds_list) = targets

        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_anchor_list = images_to_levels([torch.cat(anchors) for anchors in anchor_list], num_level_anchors)
        elementwise = [self.loss_single(*args) for args in zip(cls_scores, bbox_preds, all_anchor_list, labels_list,
                                                               label_weights_list, bbox_targets_list,
                                                               bbox_weights_list)]

        # gt indices of the batch: image i's gts follow those of the images before it
        num_gts = torch.tensor([len(g) for g in gt_bboxes], device=device)
        offsets = (torch.cumsum(num_gts, 0) - num_gts).view(-1, 1)
        pos_gt_inds_list = [torch.where(inds >= 0, inds + offsets, inds).reshape(-1) for inds in pos_gt_inds_list]
        labels_list = [labels.reshape(-1) for labels in labels_list]
        label_sequence = torch.arange(int(num_gts.sum()), device=device)

        with torch.no_grad():
            # (levels, G): the mean loss of each gt's positives at each level
            loss_levels = torch.stack([self.collect_loss_level_single(lc, lb, inds, label_sequence)
                                       for (lc, lb), inds in zip(elementwise, pos_gt_inds_list)])
            min_levels = loss_levels.min(dim=0).indices if loss_levels.numel() else \
                loss_levels.new_empty((0,), dtype=torch.long)

        losses_cls, losses_bbox, pos_flags = [], [], []
        for level, ((lc, lb), inds, labels) in enumerate(zip(elementwise, pos_gt_inds_list, labels_list)):
            cls_l, bbox_l, pos_l = self.reweight_loss_single(lc, lb, inds, labels, level, min_levels)
            losses_cls.append(cls_l)
            losses_bbox.append(bbox_l)
            pos_flags.append(pos_l)
        num_pos = torch.cat(pos_flags).sum().float()
        pos_recall = self.calculate_pos_recall(cls_scores, labels_list, pos_flags)

        avg_factor = num_pos if num_pos > 0 else num_pos + float(num_total_neg)
        return dict(loss_cls=[lc / avg_factor for lc in losses_cls],
                    loss_bbox=[lb / avg_factor for lb in losses_bbox],
                    num_pos=num_pos / batch_size, pos_recall=pos_recall)

    def calculate_pos_recall(self, cls_scores, labels_list, pos_inds):
        """Percentage of the selected positives whose top class is their label
        (and, with ``score_threshold``, scores above it).

        Args:
            cls_scores (list[Tensor]): per level (N, A * C, H, W).
            labels_list (list[Tensor]): per level (N * H * W * A,).
            pos_inds (list[Tensor]): per level (N * H * W * A,) bool.

        Returns:
            Tensor: a scalar in [0, 100] (0 without positives).
        """
        with torch.no_grad():
            c = self.cls_out_channels
            scores = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, c)[p] for s, p in zip(cls_scores, pos_inds)])
            labels = torch.cat([lab.reshape(-1)[p] for lab, p in zip(labels_list, pos_inds)])
            if scores.size(0) == 0:
                return scores.new_tensor(0.)
            scores = scores.sigmoid() if self.use_sigmoid_cls else scores.softmax(dim=1)
            top_score, top_label = scores.max(dim=1)
            correct = top_label == labels
            if self.score_threshold is not None:
                correct &= top_score > self.score_threshold
            return correct.float().sum() * 100.0 / scores.size(0)

    def collect_loss_level_single(self, cls_loss, reg_loss, assigned_gt_inds, labels_seq):
        """Mean loss of each gt's positives at one level.

        Args:
            cls_loss (Tensor): (M, C) element-wise classification loss (or (M,)).
            reg_loss (Tensor): (M, 4) or (M,) regression loss.
            assigned_gt_inds (Tensor): (M,) gt index in the batch, -1: not positive.
            labels_seq (Tensor): (G,) the gt indices asked for (``arange(G)``).

        Returns:
            Tensor: (G,) the mean of ``cls_loss.sum(-1) + reg_loss.sum(-1)``
            over the gt's positives here; 1e6 where it has none.
        """
        if reg_loss.dim() == 2:
            reg_loss = reg_loss.sum(dim=-1)
        if cls_loss.dim() == 2:
            cls_loss = cls_loss.sum(dim=-1)
        loss = cls_loss + reg_loss
        if loss.size(0) != assigned_gt_inds.size(0):
            raise ValueError(f'{loss.size(0)} losses for {assigned_gt_inds.size(0)} gt indices')
        pos = assigned_gt_inds >= 0
        size = int(max(labels_seq.max().item() + 1 if labels_seq.numel() else 0,
                       assigned_gt_inds.max().item() + 1 if assigned_gt_inds.numel() else 0))
        sums = loss.new_zeros(size).index_add_(0, assigned_gt_inds[pos], loss[pos])
        counts = loss.new_zeros(size).index_add_(0, assigned_gt_inds[pos], torch.ones_like(loss[pos]))
        mean = torch.where(counts > 0, sums / counts.clamp(min=1), loss.new_full((size,), 1e6))
        return mean[labels_seq]

    def reweight_loss_single(self, cls_loss, reg_loss, assigned_gt_inds, labels, level, min_levels):
        """Keep only the positives of the gts selected for this level.

        Args:
            cls_loss (Tensor): (M, C) element-wise classification loss.
            reg_loss (Tensor): (M,) or (M, 4) element-wise regression loss.
            assigned_gt_inds (Tensor): (M,) gt index in the batch, -1: not positive.
            labels (Tensor): (M,) assigned labels.
            level (int): this level's index.
            min_levels (Tensor): (G,) the selected level of each gt.

        Returns:
            tuple: the summed ``cls_loss`` and ``reg_loss`` (scalars) after
            zeroing, at positives of gts selected elsewhere, the regression
            weight and the classification weight at their label; and the
            (M,) bool flags of the remaining positives.
        """
        pos_flags = assigned_gt_inds >= 0
        elsewhere = torch.zeros_like(pos_flags)
        elsewhere[pos_flags] = min_levels[assigned_gt_inds[pos_flags]] != level
        loc_weight = torch.ones_like(reg_loss)
        cls_weight = torch.ones_like(cls_loss)
        if elsewhere.any():
            loc_weight[elsewhere] = 0
            cls_weight[elsewhere, labels[elsewhere]] = 0
        return (cls_loss * cls_weight).sum(), (reg_loss * loc_weight).sum(), pos_flags & ~elsewhere
