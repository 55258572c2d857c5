"""What every dense head shares: conv towers, the train/test entry points,
the end of decoding, and TTA merging."""
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


def finish_detections(boxes, scores, meta, cfg, rescale, with_nms, score_factors=None):
    """Concatenated per-level boxes (n, 4) and scores (n, C) of one image ->
    ``(dets, labels)`` after NMS, or ``(boxes, scores_with_bg[, factors])``."""
    if rescale:
        boxes = boxes / boxes.new_tensor(np.asarray(meta['scale_factor'], dtype=np.float32))
    scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)  # background column
    if with_nms:
        return multiclass_nms(boxes, scores, cfg['score_thr'], cfg['nms'], cfg['max_per_img'],
                              score_factors=score_factors)
    return (boxes, scores) if score_factors is None else (boxes, scores, score_factors)


class BaseDenseHead(nn.Module):
    """A dense head implements ``forward(feats)``, ``loss(*outs, gt_bboxes,
    gt_labels, img_metas, gt_bboxes_ignore)`` and ``get_bboxes(*outs, img_metas,
    cfg=None, rescale=False, with_nms=True)``; this class wires them up."""

    def forward_train(self, x, img_metas, gt_bboxes, gt_labels=None, gt_bboxes_ignore=None):
        outs = self(x)
        return self.loss(*outs, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=gt_bboxes_ignore)

    def simple_test(self, feats, img_metas, rescale=False):
        """Per image ``(dets (k, 5), labels (k,))``."""
        return self.get_bboxes(*float_outputs(self(feats)), img_metas, rescale=rescale)

    def aug_test(self, feats_list, img_metas_list, rescale=False):
        """Test-time augmentation: decode every view without NMS, map its boxes
        back to the original image (unflip, unscale), concatenate the views and
        run one multi-class NMS.  Works for any batch size.

        Returns per image ``(dets, labels)`` in original-image coordinates when
        ``rescale`` else in the first view's coordinates.
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
