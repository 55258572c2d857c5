"""MMDetection 2.x's ``AnchorFreeHead``: the base of point-based dense heads
(FCOS, FoveaBox, ... in 2.x), for user heads written against it.

It builds two towers of ``stacked_convs`` 3x3 ConvModules (``cls_convs``,
``reg_convs``) and the predictors ``conv_cls`` (``cls_out_channels``
outputs) and ``conv_reg`` (4 outputs); ``forward_single`` returns
``cls_score, bbox_pred, cls_feat, reg_feat`` and ``forward`` the first two per
level.  ``get_points`` gives each level's grid.  A subclass implements
``loss``, ``get_bboxes`` and ``get_targets``; regression ranges and the like
are the subclass's business.

The project's own VFNet/ATSS/Fovea heads do not derive from this class.
"""
from abc import abstractmethod

import torch

from mmdet.core import multi_apply
from mmdet.ops import Conv2d, bias_init_with_prob, normal_init

from ..builder import HEADS, build_loss
from .base_dense_head import BaseDenseHead, conv_tower


@HEADS.register_module()
class AnchorFreeHead(BaseDenseHead):
    """Anchor-free head, as MMDetection 2.x's.

    Args:
        num_classes (int): number of categories without the background.
        in_channels (int): channels of the input feature maps.
        feat_channels (int): channels of the towers.
        stacked_convs (int): 3x3 convs in each tower.
        strides (tuple[int]): the stride of each level.
        dcn_on_last_conv (bool): the last conv of each tower a DCNv2.
        conv_bias (bool | str): bias of the tower convs; 'auto': without a norm.
        loss_cls (dict): classification loss (sigmoid-based: ``num_classes`` outputs).
        loss_bbox (dict): regression loss.
        conv_cfg (dict | None), norm_cfg (dict | None): of the tower convs.
        train_cfg, test_cfg (dict | None): training / testing configs.
        init_cfg: accepted for later 2.x configs; unused.
    """

    _version = 1

    def __init__(self, num_classes, in_channels, feat_channels=256, stacked_convs=4, strides=(4, 8, 16, 32, 64),
                 dcn_on_last_conv=False, conv_bias='auto',
                 loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox=dict(type='IoULoss', loss_weight=1.0), conv_cfg=None, norm_cfg=None, train_cfg=None,
                 test_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.strides = strides
        self.dcn_on_last_conv = dcn_on_last_conv
        if not (conv_bias == 'auto' or isinstance(conv_bias, bool)):
            raise ValueError(f"conv_bias must be 'auto' or a bool, got {conv_bias!r}")
        self.conv_bias = conv_bias
        self.loss_cls = build_loss(loss_cls)
        self.loss_bbox = build_loss(loss_bbox)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.fp16_enabled = False
        self._init_layers()

    # ------------------------------------------------------------------ layers
    def _init_layers(self):
        self._init_cls_convs()
        self._init_reg_convs()
        self._init_predictor()

    def _init_cls_convs(self):
        self.cls_convs = conv_tower(self.in_channels, self.feat_channels, self.stacked_convs, self.conv_cfg,
                                    self.norm_cfg, bias=self.conv_bias, dcn_on_last_conv=self.dcn_on_last_conv)

    def _init_reg_convs(self):
        self.reg_convs = conv_tower(self.in_channels, self.feat_channels, self.stacked_convs, self.conv_cfg,
                                    self.norm_cfg, bias=self.conv_bias, dcn_on_last_conv=self.dcn_on_last_conv)

    def _init_predictor(self):
        self.conv_cls = Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = Conv2d(self.feat_channels, 4, 3, padding=1)

    def init_weights(self):
        for m in list(self.cls_convs) + list(self.reg_convs):
            if isinstance(m.conv, torch.nn.Conv2d):
                normal_init(m.conv, std=0.01)
        normal_init(self.conv_cls, std=0.01, bias=bias_init_with_prob(0.01))
        normal_init(self.conv_reg, std=0.01)

    # ----------------------------------------------------------------- forward
    def forward(self, feats):
        """Per-level features -> ``(cls_scores, bbox_preds)``: per level
        (N, cls_out_channels, H, W) and (N, 4, H, W)."""
        return multi_apply(self.forward_single, feats)[:2]

    def forward_single(self, x):
        """One level ``x`` (N, in_channels, H, W) -> ``cls_score`` (N,
        cls_out_channels, H, W), ``bbox_pred`` (N, 4, H, W) and the towers'
        outputs ``cls_feat``, ``reg_feat`` (N, feat_channels, H, W), for
        subclasses to build on."""
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        cls_score = self.conv_cls(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        bbox_pred = self.conv_reg(reg_feat)
        return cls_score, bbox_pred, cls_feat, reg_feat

    # --------------------------------------------------- for subclasses to fill
    @abstractmethod
    def loss(self, cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas, gt_bboxes_ignore=None):
        """Losses of the head from per-level ``cls_scores`` (N, C, H, W) and ``bbox_preds`` (N, 4, H, W)."""
        raise NotImplementedError

    @abstractmethod
    def get_bboxes(self, cls_scores, bbox_preds, img_metas, cfg=None, rescale=None):
        """Per image ``(dets (k, 5), labels (k,))``."""
        raise NotImplementedError

    @abstractmethod
    def get_targets(self, points, gt_bboxes_list, gt_labels_list):
        """Targets of the per-level ``points`` (P_l, 2) for every image."""
        raise NotImplementedError

    # ------------------------------------------------------------------ points
    def _get_points_single(self, featmap_size, stride, dtype, device, flatten=False):
        """One level's grid indices: ``(y, x)``, each (H, W) (or (H * W,) with
        ``flatten``), row-major; subclasses turn them into image points (2.x's
        FCOS: ``stack((x * stride, y * stride), -1) + stride // 2``)."""
        h, w = featmap_size
        y, x = torch.meshgrid(torch.arange(h, dtype=dtype, device=device),
                              torch.arange(w, dtype=dtype, device=device), indexing='ij')
        if flatten:
            y, x = y.flatten(), x.flatten()
        return y, x

    def get_points(self, featmap_sizes, dtype, device, flatten=False):
        """Per level :meth:`_get_points_single` for ``featmap_sizes`` (list of (H, W))."""
        return [self._get_points_single(featmap_sizes[i], self.strides[i], dtype, device, flatten)
                for i in range(len(featmap_sizes))]
