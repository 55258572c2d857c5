"""``mmcv.cnn`` names used by 2.x dense-detection code."""
import torch.nn as nn

from mmdet.models.complexity import model_complexity
from mmdet.models.fuse import fuse_conv_bn
from mmdet.ops import (ConvModule, Scale, bias_init_with_prob, build_activation_layer, build_conv_layer,
                       build_norm_layer, constant_init, kaiming_init, normal_init)
from mmdet.ops import xavier_init as _xavier_init

from ._missing import missing
from .runner.base_module import INITIALIZERS, initialize

__all__ = ['ConvModule', 'Scale', 'bias_init_with_prob', 'build_activation_layer', 'build_conv_layer',
           'build_norm_layer', 'constant_init', 'kaiming_init', 'normal_init', 'xavier_init', 'uniform_init',
           'fuse_conv_bn', 'model_complexity', 'initialize', 'INITIALIZERS']


def xavier_init(module, gain=1, bias=0, distribution='normal'):
    """Xavier weights (mmcv's default distribution: normal), bias constant."""
    _xavier_init(module, gain, bias, distribution)


def uniform_init(module, a=0, b=1, bias=0):
    """Weights ~ U(a, b), bias constant."""
    nn.init.uniform_(module.weight, a, b)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def __getattr__(name):
    return missing('mmcv.cnn', name)
