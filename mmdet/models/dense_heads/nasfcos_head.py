"""NAS-FCOS head (Wang et al., "NAS-FCOS: Fast Neural Architecture Search for
Object Detection", CVPR 2020).

An :class:`FCOSHead` whose two towers are the searched sequence
"DCNv2 3x3 (with bias), conv 3x3, DCNv2 3x3 (with bias), conv 1x1", each op
followed by the head's norm (GN) and ReLU; targets, losses and decoding are
FCOS's.
"""
import copy

import torch.nn as nn

from mmdet.ops import Conv2d, ConvModule, Scale, bias_init_with_prob, kaiming_init, normal_init

from ..builder import HEADS
from .fcos_head import FCOSHead

# (conv type, kernel size, bias) of the searched tower, first op first
NASFCOS_TOWER = (('DCNv2', 3, True), ('Conv', 3, False), ('DCNv2', 3, True), ('Conv', 1, False))


def caffe2_xavier_init(module, bias=0):
    """Caffe2's XavierFill: uniform Kaiming with ``a=1``, fan-in (mmcv's ``caffe2_xavier_init``)."""
    kaiming_init(module, a=1, mode='fan_in', nonlinearity='leaky_relu', bias=bias, distribution='uniform')


@HEADS.register_module()
class NASFCOSHead(FCOSHead):
    """FCOS head with the NAS-FCOS towers (``stacked_convs``,
    ``dcn_on_last_conv``, ``conv_cfg`` and ``conv_bias`` do not apply: the
    tower is fixed).  The DCNv2 ops have 2 deformable groups.

    As in 2.x, the classification and regression towers start as copies of
    one another (the DCNv2 weights keep that copy; the plain convs are
    re-initialised by :meth:`init_weights`).
    """

    def _init_layers(self):
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        for i, (conv_type, k, bias) in enumerate(NASFCOS_TOWER):
            conv_cfg = dict(type=conv_type, deform_groups=2) if conv_type == 'DCNv2' else dict(type=conv_type)
            module = ConvModule(self.in_channels if i == 0 else self.feat_channels, self.feat_channels, k,
                                stride=1, padding=k // 2, conv_cfg=conv_cfg, norm_cfg=self.norm_cfg, bias=bias)
            self.cls_convs.append(copy.deepcopy(module))
            self.reg_convs.append(copy.deepcopy(module))
        self.conv_cls = Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = Conv2d(self.feat_channels, 4, 3, padding=1)
        self.conv_centerness = Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def init_weights(self):
        normal_init(self.conv_reg, std=0.01)
        normal_init(self.conv_centerness, std=0.01)
        normal_init(self.conv_cls, std=0.01, bias=bias_init_with_prob(0.01))
        for m in list(self.cls_convs) + list(self.reg_convs):
            if isinstance(m.conv, nn.Conv2d):  # the plain convs; the DCNv2s keep their own init
                caffe2_xavier_init(m.conv)
