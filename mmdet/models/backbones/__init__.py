from .hrnet import HRNet
from .regnet import RegNet
from .res2net import Res2Net
from .resnet import ResNet, ResNetV1d
from .resnext import ResNeXt

__all__ = ['ResNet', 'ResNetV1d', 'ResNeXt', 'Res2Net', 'HRNet', 'RegNet']
