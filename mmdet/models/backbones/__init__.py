from .hrnet import HRNet
from .mobilenet_v2 import MobileNetV2
from .regnet import RegNet
from .res2net import Res2Net
from .resnest import ResNeSt
from .resnet import ResNet, ResNetV1d
from .resnext import ResNeXt
from .timm_backbone import TIMMBackbone

__all__ = ['ResNet', 'ResNetV1d', 'ResNeXt', 'Res2Net', 'HRNet', 'RegNet', 'MobileNetV2', 'ResNeSt', 'TIMMBackbone']
