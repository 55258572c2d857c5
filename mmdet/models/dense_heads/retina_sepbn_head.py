"""RetinaNet head with per-level norm layers (NAS-FPN's head), as MMDetection 2.x's.

Like :class:`RetinaHead` (two towers of ``stacked_convs`` 3x3 convs, then
``retina_cls`` / ``retina_reg``), but each of the ``num_ins`` levels has its
own tower *modules* whose conv weights are shared with level 0's while their
norm layers (BN) are separate: ``cls_convs[j][i].conv is cls_convs[0][i].conv``.
The state dict therefore lists every level's ``conv.weight`` (the same
tensor), as the original checkpoints do.  Targets, losses and decoding are
:class:`AnchorHead`'s.
"""
import torch.nn as nn

from mmdet.ops import Conv2d, bias_init_with_prob, normal_init
from mmdet.utils.errors import InvalidArgumentError

from ..builder import HEADS
from .anchor_head import AnchorHead
from .base_dense_head import conv_tower


@HEADS.register_module()
class RetinaSepBNHead(AnchorHead):
    """RetinaNet's head with norm layers separate per level.

    Args:
        num_classes (int): number of categories without the background.
        num_ins (int): number of input levels (one norm set per level).
        in_channels (int): channels of the input feature maps.
        stacked_convs (int): 3x3 convs in each tower.
        conv_cfg (dict | None), norm_cfg (dict | None): of the tower convs.
        **kwargs: :class:`AnchorHead`'s (``feat_channels``, ``anchor_generator``,
            ``bbox_coder``, ``loss_cls``, ``loss_bbox``, ``train_cfg``, ...);
            the 2.x RetinaNet config supplies the RetinaNet values.

    Outputs per level: ``cls_score`` (N, A * num_classes, H, W), ``bbox_pred``
    (N, A * 4, H, W).
    """

    def __init__(self, num_classes, num_ins, in_channels, stacked_convs=4, conv_cfg=None, norm_cfg=None, **kwargs):
        if not (isinstance(num_ins, int) and not isinstance(num_ins, bool) and num_ins > 0):
            raise InvalidArgumentError(f'RetinaSepBNHead num_ins must be a positive int, got {num_ins!r}')
        self.stacked_convs, self.num_ins = stacked_convs, num_ins
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
        super().__init__(num_classes, in_channels, **kwargs)
        self.init_weights()

    def _init_layers(self):
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs, self.reg_convs = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.num_ins):
            self.cls_convs.append(conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                             self.conv_cfg, self.norm_cfg))
            self.reg_convs.append(conv_tower(self.in_channels, self.feat_channels, self.stacked_convs,
                                             self.conv_cfg, self.norm_cfg))
        for towers in (self.cls_convs, self.reg_convs):  # share the convs, keep the norms per level
            for level in towers[1:]:
                for i, layer in enumerate(level):
                    layer.conv = towers[0][i].conv
        self.retina_cls = Conv2d(self.feat_channels, self.num_anchors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = Conv2d(self.feat_channels, self.num_anchors * 4, 3, padding=1)

    def init_weights(self):
        for layer in list(self.cls_convs[0]) + list(self.reg_convs[0]):
            normal_init(layer.conv, std=0.01)
        normal_init(self.retina_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.retina_reg, std=0.01)

    def forward(self, feats):
        """``feats``: ``num_ins`` maps (N, in_channels, H_l, W_l) -> ``(cls_scores, bbox_preds)``, lists per level."""
        if len(feats) != self.num_ins:
            raise InvalidArgumentError(f'RetinaSepBNHead was built for num_ins={self.num_ins} levels, '
                                       f'got {len(feats)} feature maps')
        cls_scores, bbox_preds = [], []
        for x, cls_tower, reg_tower in zip(feats, self.cls_convs, self.reg_convs):
            cls_feat, reg_feat = x, x
            for layer in cls_tower:
                cls_feat = layer(cls_feat)
            for layer in reg_tower:
                reg_feat = layer(reg_feat)
            cls_scores.append(self.retina_cls(cls_feat))
            bbox_preds.append(self.retina_reg(reg_feat))
        return cls_scores, bbox_preds
