from .augment import CutOut, RandomCrop
from .compose import PIPELINES, Compose
from .formatting import (Collect, DefaultFormatBundle, ImageToTensor, ToDataContainer, ToTensor, Transpose,
                         WrapFieldsToLists, to_tensor)
from .loading import (ImageReadError, LoadAnnotations, LoadImageFromFile, LoadImageFromWebcam,
                      LoadMultiChannelImageFromFiles, imread)
from .test_time_aug import MultiScaleFlipAug
from .transforms import Normalize, Pad, RandomFlip, Resize

__all__ = ['PIPELINES', 'Compose', 'LoadImageFromFile', 'LoadImageFromWebcam', 'LoadMultiChannelImageFromFiles',
           'LoadAnnotations', 'ImageReadError',
           'imread', 'Resize', 'RandomFlip', 'Normalize', 'Pad', 'DefaultFormatBundle', 'ImageToTensor', 'ToTensor',
           'Collect', 'ToDataContainer', 'Transpose', 'WrapFieldsToLists', 'MultiScaleFlipAug', 'to_tensor', 'RandomCrop', 'CutOut']
