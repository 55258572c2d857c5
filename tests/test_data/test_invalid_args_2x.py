"""Bad constructor arguments that MMDetection 2.x rejected with ``assert`` (an
``AssertionError``) raise :class:`mmdet.utils.InvalidArgumentError`, which is
both a ``ValueError`` and an ``AssertionError``, with a message naming the class,
the argument and the bad value.  Tiny constructions only (the checks run before
any layer is built)."""
import warnings
from functools import partial

import pytest
import torch

from mmdet.datasets.pipelines import (CutOut, MultiScaleFlipAug, Normalize, Pad, RandomCrop, RandomFlip,
                                      Resize)
from mmdet.models.backbones import Res2Net, ResNet, ResNeXt
from mmdet.models.backbones.res2net import Bottle2neck
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck
from mmdet.models.losses import (CrossEntropyLoss, FocalLoss, GIoULoss, IoULoss, L1Loss, QualityFocalLoss,
                                 SmoothL1Loss, VarifocalLoss, varifocal_loss)
from mmdet.models.necks import FPN, PAFPN, PAFPNX
from mmdet.utils import InvalidArgumentError

TTA = [dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'), dict(type='Collect', keys=['img'])]
DCN = dict(type='DCNv2', deform_groups=1)


def case(make, *words):
    """A bad construction and the words its message must contain (class, argument, value)."""
    return pytest.param(make, words, id=' '.join(words)[:70])


CASES = [
    # ---------------------------------------------------------------- Resize
    case(partial(Resize, img_scale=[1333, 800]), 'Resize', 'img_scale', '[1333, 800]'),
    case(partial(Resize, img_scale=(1333, -800)), 'Resize', 'img_scale', '(1333, -800)'),
    case(partial(Resize, img_scale=(10, 10), multiscale_mode='bad'), 'Resize', 'multiscale_mode', "'bad'"),
    case(partial(Resize, img_scale=[(10, 10), (20, 20)], ratio_range=(0.5, 2.0)), 'Resize', 'ratio_range',
         '(0.5, 2.0)'),
    case(partial(Resize, ratio_range=(0.5, 2.0)), 'Resize', 'ratio_range', 'img_scale=None'),
    case(partial(Resize, img_scale=(10, 10), ratio_range=(2.0, 0.5)), 'Resize', 'ratio_range', '(2.0, 0.5)'),
    case(partial(Resize, img_scale=[(30, 10), (40, 20), (50, 30)], multiscale_mode='range'), 'Resize',
         "multiscale_mode='range'", '(50, 30)'),
    case(partial(Resize, img_scale=(10, 10), keep_ratio='yes'), 'Resize', 'keep_ratio', "'yes'"),
    case(partial(Resize, img_scale=(10, 10), backend='magick'), 'Resize', 'backend', "'magick'"),
    case(partial(Resize, img_scale=(10, 10), interpolation='cubical'), 'Resize', 'interpolation', "'cubical'"),
    # ---------------------------------------------------------------- RandomFlip
    case(partial(RandomFlip, flip_ratio=1.5), 'RandomFlip', 'flip_ratio', '1.5'),
    case(partial(RandomFlip, flip_ratio='0.5'), 'RandomFlip', 'flip_ratio', "'0.5'"),
    case(partial(RandomFlip, flip_ratio=[0.6, 0.6], direction=['horizontal', 'vertical']), 'RandomFlip',
         'flip_ratio', '[0.6, 0.6]'),
    case(partial(RandomFlip, flip_ratio=[0.5], direction=['horizontal', 'vertical']), 'RandomFlip', 'flip_ratio',
         '[0.5]'),
    case(partial(RandomFlip, flip_ratio=0.5, direction='sideways'), 'RandomFlip', 'direction', "'sideways'"),
    case(partial(RandomFlip, flip_ratio=0.5, direction=('horizontal',)), 'RandomFlip', 'direction',
         "('horizontal',)"),
    # ---------------------------------------------------------------- Normalize
    case(partial(Normalize, mean=[1, 2, 3], std=[1, 0, 1]), 'Normalize', 'std', '[1, 0, 1]'),
    case(partial(Normalize, mean=[1, 2, 3], std=[1, 2]), 'Normalize', 'mean', 'std', '[1, 2]'),
    case(partial(Normalize, mean='abc', std=[1, 1, 1]), 'Normalize', 'mean', "'abc'"),
    case(partial(Normalize, mean=[1, 2, 3], std=[1, 1, 1], to_rgb='yes'), 'Normalize', 'to_rgb', "'yes'"),
    # ---------------------------------------------------------------- Pad
    case(Pad, 'Pad', 'size', 'size_divisor', 'None'),
    case(partial(Pad, size=(32, 32), size_divisor=32), 'Pad', 'size', 'size_divisor', '(32, 32)'),
    case(partial(Pad, size_divisor=0), 'Pad', 'size_divisor', '0'),
    case(partial(Pad, size=32), 'Pad', 'size', '32'),
    # ---------------------------------------------------------------- RandomCrop
    case(partial(RandomCrop, crop_size=(10, 10), crop_type='middle'), 'RandomCrop', 'crop_type', "'middle'"),
    case(partial(RandomCrop, crop_size=(0, 10)), 'RandomCrop', 'crop_size', '(0, 10)'),
    case(partial(RandomCrop, crop_size=(10.5, 10)), 'RandomCrop', 'crop_size', '(10.5, 10)'),
    case(partial(RandomCrop, crop_size=(20, 10), crop_type='absolute_range'), 'RandomCrop', 'crop_size',
         '(20, 10)'),
    case(partial(RandomCrop, crop_size=(1.5, 0.5), crop_type='relative'), 'RandomCrop', 'crop_size', '(1.5, 0.5)'),
    case(partial(RandomCrop, crop_size=(0.5, 0.5), crop_type='relative_range', crop_p=1.5), 'RandomCrop',
         'crop_p', '1.5'),
    # ---------------------------------------------------------------- CutOut
    case(partial(CutOut, n_holes=2), 'CutOut', 'cutout_shape', 'cutout_ratio', 'None'),
    case(partial(CutOut, n_holes=2, cutout_shape=(4, 4), cutout_ratio=(0.1, 0.1)), 'CutOut', 'cutout_shape',
         'cutout_ratio', '(0.1, 0.1)'),
    case(partial(CutOut, n_holes=(5, 3), cutout_shape=(4, 4)), 'CutOut', 'n_holes', '(5, 3)'),
    case(partial(CutOut, n_holes=(1, 2, 3), cutout_shape=(4, 4)), 'CutOut', 'n_holes', '(1, 2, 3)'),
    case(partial(CutOut, n_holes=-1, cutout_shape=(4, 4)), 'CutOut', 'n_holes', '-1'),
    case(partial(CutOut, n_holes=2, cutout_shape=4), 'CutOut', 'cutout_shape', '4'),
    case(partial(CutOut, n_holes=2, cutout_shape=[(4, 4), (4,)]), 'CutOut', 'cutout_shape', '[(4, 4), (4,)]'),
    case(partial(CutOut, n_holes=2, cutout_ratio=[(0.1, 1.5)]), 'CutOut', 'cutout_ratio', '[(0.1, 1.5)]'),
    case(partial(CutOut, n_holes=2, cutout_shape=(4, 4), cutout_p=2), 'CutOut', 'cutout_p', '2'),
    # ---------------------------------------------------------------- MultiScaleFlipAug
    case(partial(MultiScaleFlipAug, TTA), 'MultiScaleFlipAug', 'img_scale', 'scale_factor', 'None'),
    case(partial(MultiScaleFlipAug, TTA, img_scale=(10, 10), scale_factor=1.0), 'MultiScaleFlipAug', 'img_scale',
         'scale_factor', '1.0'),
    case(partial(MultiScaleFlipAug, TTA, img_scale=[1333, 800]), 'MultiScaleFlipAug', 'img_scale', '[1333, 800]'),
    case(partial(MultiScaleFlipAug, TTA, scale_factor=-1.0), 'MultiScaleFlipAug', 'scale_factor', '-1.0'),
    case(partial(MultiScaleFlipAug, TTA, img_scale=(10, 10), flip=True, flip_direction='sideways'),
         'MultiScaleFlipAug', 'flip_direction', "'sideways'"),
    case(partial(MultiScaleFlipAug, TTA, img_scale=(10, 10), flip='yes'), 'MultiScaleFlipAug', 'flip', "'yes'"),
    # ---------------------------------------------------------------- FPN / PAFPN / PAFPNX
    case(partial(FPN, [8, 16], 8, num_outs=1), 'FPN', 'num_outs=1'),
    case(partial(FPN, [8, 16], 8, num_outs=2, end_level=3), 'FPN', 'end_level', '3'),
    case(partial(FPN, [8, 16, 32], 8, num_outs=3, end_level=2), 'FPN', 'num_outs=3', 'end_level=2'),
    case(partial(FPN, [8, 16], 8, num_outs=2, start_level=2), 'FPN', 'start_level', '2'),
    case(partial(FPN, [8, 16], 8, num_outs=3, add_extra_convs='on_top'), 'FPN', 'add_extra_convs', "'on_top'"),
    case(partial(FPN, [8, 16], 8, num_outs=3, add_extra_convs=None), 'FPN', 'add_extra_convs', 'None'),
    case(partial(FPN, 8, 8, num_outs=3), 'FPN', 'in_channels', '8'),
    case(partial(PAFPN, [8, 16], 8, num_outs=1), 'PAFPN', 'num_outs=1'),
    case(partial(PAFPNX, [8, 16], 8, num_outs=3, add_extra_convs='on_top'), 'PAFPNX', 'add_extra_convs',
         "'on_top'"),
    # ---------------------------------------------------------------- ResNet / ResNeXt / Res2Net
    case(partial(ResNet, depth=42), 'ResNet', 'depth', '42'),
    case(partial(ResNet, depth=18, num_stages=5), 'ResNet', 'num_stages', '5'),
    case(partial(ResNet, depth=18, num_stages=0), 'ResNet', 'num_stages', '0'),
    case(partial(ResNet, depth=18, strides=(1, 2), dilations=(1, 1)), 'ResNet', 'strides', '(1, 2)'),
    case(partial(ResNet, depth=18, dilations=(1, 1, 1)), 'ResNet', 'dilations', '(1, 1, 1)'),
    case(partial(ResNet, depth=18, out_indices=(0, 4)), 'ResNet', 'out_indices', '(0, 4)'),
    case(partial(ResNet, depth=18, num_stages=3, out_indices=(0, 1, 2, 3)), 'ResNet', 'out_indices',
         '(0, 1, 2, 3)'),
    case(partial(ResNet, depth=50, style='tensorflow'), 'ResNet', 'style', "'tensorflow'"),
    case(partial(ResNet, depth=18, frozen_stages=5), 'ResNet', 'frozen_stages', '5'),
    case(partial(ResNet, depth=50, dcn=DCN, stage_with_dcn=(False, True)), 'ResNet', 'stage_with_dcn',
         '(False, True)'),
    case(partial(ResNet, depth=50, dcn='dcnv2'), 'ResNet', 'dcn', "'dcnv2'"),
    case(partial(ResNet, depth=50, plugins=[dict(position='after_conv2')]), 'ResNet', 'plugins',
         'after_conv2'),
    case(partial(BasicBlock, 8, 8, dcn=DCN), 'BasicBlock', 'dcn', 'DCNv2'),
    case(partial(Bottleneck, 16, 4, style='tensorflow'), 'Bottleneck', 'style', "'tensorflow'"),
    case(partial(Bottleneck, 16, 4, dcn=DCN, conv_cfg=dict(type='Conv')), 'Bottleneck', 'conv_cfg',
         "{'type': 'Conv'}"),
    case(partial(ResNeXt, depth=18), 'ResNeXt', 'depth', '18'),
    case(partial(ResNeXt, depth=50, groups=0), 'ResNeXt', 'groups', '0'),
    case(partial(ResNeXt, depth=50, groups=32, base_width=-4), 'ResNeXt', 'base_width', '-4'),
    case(partial(Res2Net, depth=50, scales=1), 'Res2Net', 'scales', '1'),
    case(partial(Res2Net, depth=50, base_width=0), 'Res2Net', 'base_width', '0'),
    case(partial(Res2Net, depth=50, style='tensorflow'), 'Res2Net', 'style', "'tensorflow'"),
    case(partial(Res2Net, depth=34), 'Res2Net', 'depth', '34'),
    case(partial(Bottle2neck, 16, 4, style='tensorflow'), 'Bottle2neck', 'style', "'tensorflow'"),
    case(partial(Bottle2neck, 16, 4, scales=1), 'Bottle2neck', 'scales', '1'),
    case(partial(Bottle2neck, 16, 4, base_width=0), 'Bottle2neck', 'base_width', '0'),
    case(partial(Bottle2neck, 16, 4, stage_type='first'), 'Bottle2neck', 'stage_type', "'first'"),
    # ---------------------------------------------------------------- losses
    case(partial(VarifocalLoss, use_sigmoid=False), 'VarifocalLoss', 'use_sigmoid', 'False'),
    case(partial(VarifocalLoss, alpha=-0.5), 'VarifocalLoss', 'alpha', '-0.5'),
    case(partial(VarifocalLoss, reduction='avg'), 'VarifocalLoss', 'reduction', "'avg'"),
    case(partial(VarifocalLoss, loss_weight='1.0'), 'VarifocalLoss', 'loss_weight', "'1.0'"),
    case(partial(FocalLoss, use_sigmoid=False), 'FocalLoss', 'use_sigmoid', 'False'),
    case(partial(FocalLoss, reduction=None), 'FocalLoss', 'reduction', 'None'),
    case(partial(QualityFocalLoss, use_sigmoid=False), 'QualityFocalLoss', 'use_sigmoid', 'False'),
    case(partial(CrossEntropyLoss, use_mask=True), 'CrossEntropyLoss', 'use_mask', 'True'),
    case(partial(CrossEntropyLoss, reduction='max'), 'CrossEntropyLoss', 'reduction', "'max'"),
    case(partial(GIoULoss, reduction='avg'), 'GIoULoss', 'reduction', "'avg'"),
    case(partial(IoULoss, loss_weight=None), 'IoULoss', 'loss_weight', 'None'),
    case(partial(SmoothL1Loss, beta=0), 'SmoothL1Loss', 'beta', '0'),
    case(partial(SmoothL1Loss, beta=-1.0), 'SmoothL1Loss', 'beta', '-1.0'),
    case(partial(L1Loss, reduction='avg'), 'L1Loss', 'reduction', "'avg'"),
]


def _forward_cases():
    p, t = torch.zeros(2, 3), torch.zeros(2, 3)
    boxes = torch.tensor([[0., 0., 4., 4.], [1., 1., 5., 5.]])
    fpn = FPN([8, 16], 8, num_outs=2)
    return [
        case(lambda: VarifocalLoss()(p, t, reduction_override='avg'), 'VarifocalLoss', 'reduction_override',
             "'avg'"),
        case(lambda: FocalLoss()(p, torch.tensor([0, 3]), reduction_override='max'), 'FocalLoss',
             'reduction_override', "'max'"),
        case(lambda: SmoothL1Loss()(p, t, reduction_override='avg'), 'SmoothL1Loss', 'reduction_override', "'avg'"),
        case(lambda: varifocal_loss(p, torch.zeros(2, 4)), 'varifocal_loss', 'pred', '(2, 3)', '(2, 4)'),
        case(lambda: GIoULoss()(boxes, boxes, weight=torch.ones(2, 2)), 'GIoULoss', 'weight', '(2, 2)'),
        case(lambda: fpn([torch.zeros(1, 8, 8, 8)]), 'FPN', 'inputs', '1'),
        case(lambda: Resize()(dict(img=torch.zeros(4, 4, 3).numpy())), 'Resize', 'img_scale', 'None'),
    ]


@pytest.mark.parametrize('exc', [AssertionError, ValueError])
@pytest.mark.parametrize('make, words', CASES + _forward_cases())
def test_bad_argument_raises_assertion_and_value_error_naming_it(make, words, exc):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(exc) as info:
            make()
    assert isinstance(info.value, InvalidArgumentError)
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize('make', [partial(ResNet, depth=42), partial(ResNeXt, depth=34),
                                  partial(Res2Net, depth=18)])
def test_unknown_depth_is_still_the_2x_key_error(make):
    with pytest.raises(KeyError) as info:
        make()
    assert isinstance(info.value, InvalidArgumentError) and str(info.value).startswith('invalid depth')


def test_multi_scale_flip_aug_warns_as_2x():
    with pytest.warns(UserWarning, match="flip_direction='vertical' has no effect when flip is set to False"):
        MultiScaleFlipAug(TTA, img_scale=(10, 10), flip=False, flip_direction='vertical')
    with pytest.warns(UserWarning, match='flip has no effect when RandomFlip is not in transforms'):
        MultiScaleFlipAug([dict(type='Resize', keep_ratio=True)], img_scale=(10, 10), flip=True)
    with warnings.catch_warnings():  # the usual test pipelines: silent
        warnings.simplefilter('error')
        MultiScaleFlipAug(TTA, img_scale=(10, 10), flip=False)
        MultiScaleFlipAug(TTA, img_scale=[(10, 10), (20, 10)], flip=True, flip_direction=['horizontal', 'vertical'])
        MultiScaleFlipAug(TTA, scale_factor=[0.5, 1.0])


def test_valid_arguments_are_still_accepted():
    Resize(img_scale=[(30, 10), (40, 20)], multiscale_mode='range', keep_ratio=True)
    Resize(img_scale=[(30, 10), (40, 20), (50, 30)], multiscale_mode='value')
    Resize(img_scale=(1333, 800), ratio_range=(0.5, 2.0))
    Resize(img_scale=[[1333, 800]], keep_ratio=False)
    RandomFlip(flip_ratio=[0.3, 0.3], direction=['horizontal', 'vertical'])
    RandomFlip(flip_ratio=1, direction='diagonal')
    RandomFlip()
    Normalize(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
    Pad(size=(64, 32))
    RandomCrop(crop_size=(10, 20), crop_type='absolute_range', crop_p=0.5)
    CutOut(n_holes=(5, 10), cutout_shape=[(4, 4), (8, 8)], cutout_p=0.5)
    CutOut(n_holes=(3, 3), cutout_ratio=(0.1, 0.1))
    FPN([8, 16], 8, num_outs=4, start_level=0, add_extra_convs=True)
    FPN([8, 16, 32], 8, num_outs=2, start_level=1, end_level=3, add_extra_convs='on_output')
    ResNet(depth=18, num_stages=2, out_indices=(0, 1))  # the default 4-stage strides/dilations, first 2 used
    ResNet(depth=18, style='caffe', frozen_stages=4)
    SmoothL1Loss(beta=0.11, reduction='sum', loss_weight=0.5)
    VarifocalLoss(use_sigmoid=True, alpha=0.75, gamma=2.0, iou_weighted=True, loss_weight=1.0)
