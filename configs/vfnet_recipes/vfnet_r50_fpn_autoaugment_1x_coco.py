# VFNet-R50 1x with AutoAugment (MMDetection 2.10's AutoAugment and its geometric and colour steps,
# Zoph et al. 2019): one sub-policy, drawn per image, runs before the seed's resize.
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'

img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='AutoAugment',
        policies=[
            [dict(type='Translate', level=4, prob=0.6, max_translate_offset=100.),
             dict(type='EqualizeTransform', prob=0.8)],
            [dict(type='Rotate', level=6, prob=0.4),
             dict(type='ColorTransform', level=6, prob=0.6)],
            [dict(type='Shear', level=6, prob=0.6, direction='vertical'),
             dict(type='BrightnessTransform', level=5, prob=0.6)],
            [dict(type='Translate', level=2, prob=0.6, direction='vertical'),
             dict(type='ContrastTransform', level=6, prob=0.4)],
        ]),
    dict(type='Resize', img_scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(train=dict(pipeline=train_pipeline))
