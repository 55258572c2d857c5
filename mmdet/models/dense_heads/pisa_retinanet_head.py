"""PISA RetinaNet head (Cao et al., "Prime Sample Attention in Object
Detection", CVPR 2020): MMDetection 2.x's ``PISARetinaHead``.

Layers, forward, targets and decoding are :class:`RetinaHead`'s.  The loss is
computed once over all levels and images (not per level) so that two PISA
terms can see every positive of the batch:

- ``train_cfg.isr = dict(k, bias)``: ISR-P replaces the positives'
  classification weights by their IoU-HLR importance (:func:`isr_p`);
- ``train_cfg.carl = dict(k, bias)``: the classification-aware regression
  loss ``loss_carl`` is added (:func:`carl_loss`, averaged over the positives).

Without either key the head trains as a RetinaHead (one summed loss each).
"""
import torch

from mmdet.core import images_to_levels
from mmdet.runner.fp16 import force_fp32

from ..builder import HEADS
from ..losses.pisa_loss import carl_loss, isr_p
from .anchor_head import _cfg_get
from .retina_head import RetinaHead

PISA_KEYS = {'isr': ('k', 'bias'), 'carl': ('k', 'bias')}


def _pisa_cfg(train_cfg, name):
    """``train_cfg[name]`` as a dict, checking its keys; None when not set."""
    cfg = _cfg_get(train_cfg, name)
    if cfg is None:
        return None
    cfg = dict(cfg)
    unknown = sorted(set(cfg) - set(PISA_KEYS[name]))
    if unknown:
        raise KeyError(f'PISARetinaHead train_cfg.{name}: unknown key(s) {unknown}; '
                       f'accepted: {list(PISA_KEYS[name])}')
    return cfg


@HEADS.register_module()
class PISARetinaHead(RetinaHead):
    """RetinaHead trained with ISR-P and CARL.

    Args:
        as :class:`RetinaHead`; ``train_cfg`` may add ``isr=dict(k=2., bias=0.)``
        and ``carl=dict(k=1., bias=0.2)``.

    Losses: ``loss_cls``, ``loss_bbox`` (scalars over the whole batch, each
    averaged over the positives as RetinaNet does) and, with ``carl``,
    ``loss_carl``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.use_vfl:
            raise ValueError('PISARetinaHead does not support the Varifocal Loss option')
        if self.reg_decoded_bbox:
            raise ValueError('PISARetinaHead needs reg_decoded_bbox=False (ISR-P and CARL work on deltas)')
        for name in PISA_KEYS:
            _pisa_cfg(self.train_cfg, name)  # fail at build time on a bad key

    @force_fp32(apply_to=('cls_scores', 'bbox_preds'))
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """Losses of the head.

        Args:
            cls_scores (list[Tensor]): per level (N, A * num_classes, H, W).
            bbox_preds (list[Tensor]): per level (N, A * 4, H, W).
            gt_bboxes (list[Tensor]): per image (G, 4).
            gt_labels (list[Tensor]): per image (G,).
            img_metas (list[dict]): per image meta information.
            gt_bboxes_ignore (list[Tensor] | None): per image (I, 4).

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox`` and (with
            ``train_cfg.carl``) ``loss_carl``; None when an image has no
            anchor inside.
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.anchor_generator.num_levels:
            raise ValueError(f'{len(featmap_sizes)} feature levels for {self.anchor_generator.num_levels} '
                             'anchor generator levels')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, img_metas, device=device)
        label_channels = self.cls_out_channels if self.use_sigmoid_cls else 1
        targets = self.get_targets(anchor_list, valid_flag_list, gt_bboxes, img_metas,
                                   gt_bboxes_ignore_list=gt_bboxes_ignore, gt_labels_list=gt_labels,
                                   label_channels=label_channels, return_sampling_results=True)
        if targets is None:
            return None
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, num_total_pos, num_total_neg,
         sampling_results) = targets[:7]
        num_total_samples = num_total_pos + num_total_neg if self.sampling else num_total_pos

        # everything flat, image-major and in anchor order within an image (the order of the positives of
        # the sampling results, which ISR-P relies on)
        num_imgs = len(img_metas)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        anchors = torch.cat(images_to_levels([torch.cat(a) for a in anchor_list], num_level_anchors),
                            dim=1).reshape(-1, 4)
        cls_score = torch.cat([c.float().permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels)
                               for c in cls_scores], dim=1).reshape(-1, self.cls_out_channels)
        bbox_pred = torch.cat([b.float().permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for b in bbox_preds],
                              dim=1).reshape(-1, 4)
        labels = torch.cat(labels_list, dim=1).reshape(-1)
        label_weights = torch.cat(label_weights_list, dim=1).reshape(-1)
        bbox_targets = torch.cat(bbox_targets_list, dim=1).reshape(-1, 4)
        bbox_weights = torch.cat(bbox_weights_list, dim=1).reshape(-1, 4)

        isr_cfg = _pisa_cfg(self.train_cfg, 'isr')
        if isr_cfg is not None:
            labels, label_weights, bbox_targets, bbox_weights = isr_p(
                cls_score, bbox_pred, (labels, label_weights, bbox_targets, bbox_weights), anchors,
                sampling_results, loss_cls=self.loss_cls, bbox_coder=self.bbox_coder, num_class=self.num_classes,
                **isr_cfg)

        loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=num_total_samples)
        # only anchors with a regression weight add to the sum
        pos = (bbox_weights > 0).any(dim=1).nonzero(as_tuple=False).view(-1)
        loss_bbox = self.loss_bbox(bbox_pred[pos], bbox_targets[pos], bbox_weights[pos],
                                   avg_factor=num_total_samples) if pos.numel() else bbox_pred.sum() * 0
        losses = dict(loss_cls=loss_cls, loss_bbox=loss_bbox)

        carl_cfg = _pisa_cfg(self.train_cfg, 'carl')
        if carl_cfg is not None:
            losses.update(carl_loss(cls_score, labels, bbox_pred, bbox_targets, self.loss_bbox,
                                    avg_factor=num_total_pos, sigmoid=self.use_sigmoid_cls,
                                    num_class=self.num_classes, **carl_cfg))
        return losses
