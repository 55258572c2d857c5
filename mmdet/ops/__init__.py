"""The only place that touches ``torchvision.ops``."""
from .conv import Conv2d
from .conv_module import (ConvModule, bias_init_with_prob, build_activation_layer, build_conv_layer,
                          build_norm_layer, constant_init, kaiming_init, normal_init, xavier_init)
from .deform_conv import DeformConv2d, DeformConv2dPack, ModulatedDeformConv2dPack, kernel_grid_offset
from .nms import batched_nms, nms, soft_nms
from .scale import Scale

__all__ = [
    'Conv2d', 'ConvModule', 'build_norm_layer', 'build_conv_layer', 'build_activation_layer', 'DeformConv2d',
    'DeformConv2dPack', 'ModulatedDeformConv2dPack', 'kernel_grid_offset', 'nms', 'soft_nms', 'batched_nms', 'Scale',
    'bias_init_with_prob', 'constant_init', 'kaiming_init', 'normal_init', 'xavier_init'
]
