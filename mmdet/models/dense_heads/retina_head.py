"""RetinaNet head (Lin et al. 2017), with the Varifocal Loss option of the VFNet paper.

An :class:`AnchorHead` (as in MMDetection 2.x) with two towers of
``stacked_convs`` 3x3 convs before the classifier ``retina_cls`` and the box
regressor ``retina_reg``; targets, per-level losses and decoding are
AnchorHead's.

With ``loss_cls`` a VarifocalLoss (or ``use_vfl=True`` and ``loss_cls_vfl``),
a positive anchor's classification target is the IoU of its decoded box with
its gt (at the gt class), negatives 0; anchors the assigner ignores keep
weight 0.  Box regression is unchanged (deltas with ``loss_bbox``, or decoded
boxes with ``reg_decoded_bbox=True``).
"""
import torch.nn as nn

from mmdet.ops import Conv2d, bias_init_with_prob, normal_init

from ..builder import HEADS
from .anchor_head import AnchorHead
from .base_dense_head import conv_tower


@HEADS.register_module()
class RetinaHead(AnchorHead):
    """RetinaNet's head.

    Args:
        num_classes (int): number of categories without the background.
        in_channels (int): channels of the input feature maps.
        stacked_convs (int): 3x3 convs in each of the two towers.
        feat_channels (int): channels of the towers.
        conv_cfg (dict | None), norm_cfg (dict | None): of the tower convs.
        anchor_generator, bbox_coder, loss_cls, loss_bbox, reg_decoded_bbox,
        train_cfg, test_cfg: as :class:`AnchorHead` (here the RetinaNet
            defaults: Focal Loss and L1 regression).
        use_vfl (bool | None), loss_cls_vfl (dict): the Varifocal Loss option
            (see :class:`AnchorHead`).

    Outputs per level: ``cls_score`` (N, A * num_classes, H, W) and
    ``bbox_pred`` (N, A * 4, H, W), A = 9 anchors by default.
    """

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
                 test_cfg=None, init_cfg=None, **kwargs):
        self.stacked_convs = stacked_convs
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        super().__init__(num_classes, in_channels, feat_channels=feat_channels, anchor_generator=anchor_generator,
                         bbox_coder=bbox_coder, reg_decoded_bbox=reg_decoded_bbox, loss_cls=loss_cls,
                         loss_bbox=loss_bbox, train_cfg=train_cfg, test_cfg=test_cfg, use_vfl=use_vfl,
                         loss_cls_vfl=loss_cls_vfl, init_cfg=init_cfg, **kwargs)
        self.init_weights()

    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = (conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                                     self.conv_cfg, self.norm_cfg) for _ in range(2))
        self.retina_cls = Conv2d(self.feat_channels, self.num_anchors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = Conv2d(self.feat_channels, self.num_anchors * 4, 3, padding=1)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            normal_init(m.conv, std=0.01)
        normal_init(self.retina_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.retina_reg, std=0.01)

    def forward_single(self, x):
        """One level: ``x`` (N, in_channels, H, W) -> ``cls_score`` (N, A * num_classes, H, W),
        ``bbox_pred`` (N, A * 4, H, W)."""
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)
