from .augment import CutOut, RandomCrop
from .compose import PIPELINES, Compose
from .formatting import Collect, DefaultFormatBundle, ImageToTensor, ToTensor, to_tensor
from .loading import (ImageReadError, LoadAnnotations, LoadImageFromFile, LoadImageFromWebcam,
                      LoadMultiChannelImageFromFiles, imread)
from .test_time_aug import MultiScaleFlipAug
from .transforms import Normalize, Pad, RandomFlip, Resize

__all__ = ['PIPELINES', 'Compose', 'LoadImageFromFile', 'LoadImageFromWebcam', 'LoadMultiChannelImageFromFiles',
           'LoadAnnotations', 'ImageReadError',
           'imread', 'Resize', 'RandomFlip', 'Normalize', 'Pad', 'DefaultFormatBundle', 'ImageToTensor', 'ToTensor',
           'Collect', 'MultiScaleFlipAug', 'to_tensor', 'RandomCrop', 'CutOut']
