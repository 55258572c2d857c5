"""What every dense head shares: conv towers, the train/test entry points,
the end of decoding, and TTA merging.

:class:`BaseDenseHead` is MMDetection 2.x's base of dense heads (import path
``mmdet.models.dense_heads.base_dense_head``): subclasses implement ``loss``
and ``get_bboxes``; ``forward_train``, ``simple_test``/``simple_test_bboxes``
and ``aug_test``/``aug_test_bboxes`` come from here.
"""
from abc import ABCMeta, abstractmethod

import numpy as np
import torch
import torch.nn as nn

from mmdet.core import bbox_mapping_back, multiclass_nms
from mmdet.ops import ConvModule


def conv_tower(in_channels, feat_channels, num_convs, conv_cfg=None, norm_cfg=None, bias='auto',
               dcn_on_last_conv=False):
    """``num_convs`` 3x3 ConvModules (conv, norm, ReLU); the last a DCNv2 when asked."""
    return nn.ModuleList([
        ConvModule(in_channels if i == 0 else feat_channels, feat_channels, 3, stride=1, padding=1,
                   conv_cfg=dict(type='DCNv2') if dcn_on_last_conv and i == num_convs - 1 else conv_cfg,
                   norm_cfg=norm_cfg, bias=bias) for i in range(num_convs)])


def select_vfl(head, loss_cls, use_vfl, loss_cls_vfl):
    """The classification loss of a head with the VFNet paper's Varifocal Loss
    option, in either config form: the original's ``use_vfl=True`` with the
    loss in ``loss_cls_vfl``, or ``loss_cls`` itself a VarifocalLoss.
    Returns ``(use_vfl, loss config)``."""
    if use_vfl:
        if loss_cls_vfl is None:
            raise ValueError(f'{head}: use_vfl=True needs loss_cls_vfl')
        loss_cls = loss_cls_vfl
    is_vfl = loss_cls['type'] == 'VarifocalLoss'
    if use_vfl is not None and not use_vfl and is_vfl:
        raise ValueError(f'{head}: use_vfl=False but loss_cls is a VarifocalLoss')
    return is_vfl, loss_cls


def float_outputs(outs):
    """The head's per-level outputs in float32: under autocast (``--amp``) they
    come out in half or bfloat16, where box coordinates of a large image are off
    by pixels.  Decoding and NMS run in float32, as 2.x's ``force_fp32`` did."""
    return tuple([o.float() for o in level_outs] for level_outs in outs)


def finish_detections(boxes, scores, meta, cfg, rescale, with_nms, score_factors=None, scores_have_bg=False):
    """Concatenated per-level boxes (n, 4) and scores (n, C) of one image ->
    ``(dets, labels)`` after NMS, or ``(boxes, scores_with_bg[, factors])``.

    ``scores_have_bg``: ``scores`` is already (n, C + 1) with the background
    last (softmax classifiers); otherwise a zero background column is added."""
    if rescale:
        boxes = boxes / boxes.new_tensor(np.asarray(meta['scale_factor'], dtype=np.float32))
    if not scores_have_bg:
        scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)  # background column
    if with_nms:
        return multiclass_nms(boxes, scores, cfg['score_thr'], cfg['nms'], cfg['max_per_img'],
                              score_factors=score_factors)
    return (boxes, scores) if score_factors is None else (boxes, scores, score_factors)


class BaseDenseHead(nn.Module, metaclass=ABCMeta):
    """Base of dense heads, as MMDetection 2.x's.

    A subclass implements ``forward(feats)`` (a tuple of per-level lists, e.g.
    ``(cls_scores, bbox_preds)`` with each entry (N, C, H, W)),
    ``loss(*outs, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None)`` (a
    dict of loss tensors or per-level lists of them) and ``get_bboxes(*outs,
    img_metas, cfg=None, rescale=False, with_nms=True)`` (per image ``(dets
    (k, 5), labels (k,))``, or ``(boxes (n, 4), scores (n, C + 1)[, factors
    (n,)])`` without NMS); this class wires them up for training and testing.
    """

    def __init__(self, init_cfg=None):
        super().__init__()
        self.init_cfg = init_cfg

    @abstractmethod
    def loss(self, **kwargs):
        """The head's losses: a dict of tensors or of per-level lists of tensors."""

    @abstractmethod
    def get_bboxes(self, **kwargs):
        """Per image ``(dets (k, 5), labels (k,))`` from the head's outputs."""

    def forward_train(self, x, img_metas, gt_bboxes, gt_labels=None, gt_bboxes_ignore=None, proposal_cfg=None,
                      **kwargs):
        """Forward the features and compute the losses, as 2.x.

        Args:
            x (tuple[Tensor]): per-level features (N, C, H, W).
            img_metas (list[dict]): per image meta information.
            gt_bboxes (list[Tensor]): per image gt boxes (G, 4) as (x1, y1, x2, y2).
            gt_labels (list[Tensor] | None): per image gt labels (G,); None
                (RPN-like heads) leaves them out of the ``loss`` call.
            gt_bboxes_ignore (list[Tensor] | None): per image boxes to ignore (I, 4).
            proposal_cfg (dict | None): when given, also decode the outputs
                with it (``get_bboxes(*outs, img_metas, cfg=proposal_cfg)``).

        Returns:
            dict: the losses, or ``(losses, proposal_list)`` with ``proposal_cfg``.
        """
        outs = self(x)
        loss_inputs = tuple(outs) + ((gt_bboxes, img_metas) if gt_labels is None else (gt_bboxes, gt_labels, img_metas))
        losses = self.loss(*loss_inputs, gt_bboxes_ignore=gt_bboxes_ignore)
        if proposal_cfg is None:
            return losses
        return losses, self.get_bboxes(*outs, img_metas, cfg=proposal_cfg)

    def simple_test_bboxes(self, feats, img_metas, rescale=False):
        """Test without augmentation: per image ``(dets (k, 5), labels (k,))``.

        The outputs are decoded in float32 (see :func:`float_outputs`)."""
        return self.get_bboxes(*float_outputs(self(feats)), img_metas, rescale=rescale)

    def simple_test(self, feats, img_metas, rescale=False):
        """Per image ``(dets (k, 5), labels (k,))`` (2.x: :meth:`simple_test_bboxes`)."""
        return self.simple_test_bboxes(feats, img_metas, rescale=rescale)

    def aug_test(self, feats_list, img_metas_list, rescale=False):
        """Test-time augmentation (see :meth:`aug_test_bboxes`)."""
        return self.aug_test_bboxes(feats_list, img_metas_list, rescale=rescale)

    def aug_test_bboxes(self, feats_list, img_metas_list, rescale=False):
        """Test-time augmentation: decode every view without NMS, map its boxes
        back to the original image (unflip, unscale), concatenate the views and
        run one multi-class NMS.  Works for any batch size.

        ``feats_list``: per view the per-level features; ``img_metas_list``: per
        view the per-image metas.  Returns per image ``(dets, labels)`` in
        original-image coordinates when ``rescale`` else in the first view's
        coordinates.
        """
        num_imgs = len(img_metas_list[0])
        per_view = [self.get_bboxes(*float_outputs(self(x)), metas, self.test_cfg, False, False)
                    for x, metas in zip(feats_list, img_metas_list)]
        results = []
        for i in range(num_imgs):
            boxes, scores, factors = [], [], []
            for out, metas in zip(per_view, img_metas_list):
                m = metas[i]
                boxes.append(bbox_mapping_back(out[i][0], m['img_shape'], m['scale_factor'], m.get('flip', False),
                                               m.get('flip_direction', 'horizontal')))
                scores.append(out[i][1])
                if len(out[i]) >= 3:
                    factors.append(out[i][2])
            cfg = self.test_cfg
            dets, labels = multiclass_nms(torch.cat(boxes), torch.cat(scores), cfg['score_thr'], cfg['nms'],
                                          cfg['max_per_img'], score_factors=torch.cat(factors) if factors else None)
            if not rescale:
                dets = dets.clone()
                dets[:, :4] *= dets.new_tensor(img_metas_list[0][i]['scale_factor'])
            results.append((dets, labels))
        return results
