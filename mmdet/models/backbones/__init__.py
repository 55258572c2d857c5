from .resnet import ResNet, ResNetV1d

__all__ = ['ResNet', 'ResNetV1d']
