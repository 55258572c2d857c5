from .albu import Albu
from .augment import CutOut, RandomCrop
from .auto_augment import (AutoAugment, BrightnessTransform, ColorTransform, ContrastTransform, EqualizeTransform,
                           Rotate, Shear, Translate)
from .compose import PIPELINES, Compose
from .filtering import FilterAnnotations
from .formatting import (Collect, DefaultFormatBundle, ImageToTensor, ToDataContainer, ToTensor, Transpose,
                         WrapFieldsToLists, to_tensor)
from .geometric import Expand, MinIoURandomCrop, RandomAffine, RandomCenterCropPad, RandomShift
from .loading import (ImageReadError, LoadAnnotations, LoadImageFromFile, LoadImageFromWebcam,
                      LoadMultiChannelImageFromFiles, imread)
from .mix import CopyPaste, MixUp, Mosaic, YOLOXHSVRandomAug
from .photometric import Corrupt, PhotoMetricDistortion
from .test_time_aug import MultiScaleFlipAug
from .transforms import Normalize, Pad, RandomFlip, Resize

__all__ = ['PIPELINES', 'Compose', 'LoadImageFromFile', 'LoadImageFromWebcam', 'LoadMultiChannelImageFromFiles',
           'LoadAnnotations', 'ImageReadError', 'imread', 'Resize', 'RandomFlip', 'Normalize', 'Pad',
           'DefaultFormatBundle', 'ImageToTensor', 'ToTensor', 'Collect', 'ToDataContainer', 'Transpose',
           'WrapFieldsToLists', 'MultiScaleFlipAug', 'to_tensor', 'RandomCrop', 'CutOut', 'Albu', 'Expand',
           'MinIoURandomCrop', 'RandomAffine', 'RandomCenterCropPad', 'RandomShift', 'MixUp', 'Mosaic', 'CopyPaste',
           'YOLOXHSVRandomAug',
           'PhotoMetricDistortion', 'Corrupt', 'AutoAugment', 'Shear', 'Rotate', 'Translate', 'ColorTransform',
           'EqualizeTransform', 'BrightnessTransform', 'ContrastTransform', 'FilterAnnotations']
