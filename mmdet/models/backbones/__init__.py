from .res2net import Res2Net
from .resnet import ResNet, ResNetV1d
from .resnext import ResNeXt

__all__ = ['ResNet', 'ResNetV1d', 'ResNeXt', 'Res2Net']
