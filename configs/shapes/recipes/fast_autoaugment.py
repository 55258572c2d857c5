# The quickstart's fast recipe + AutoAugment (one geometric + colour sub-policy drawn per image, as
# configs/vfnet_recipes/vfnet_r50_fpn_autoaugment_1x_coco.py; translations scaled to the small images).
# Measured in docs/training_recipes.md.
_base_ = '../vfnet_r18_fpn_shapes_fast.py'

img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='AutoAugment', policies=[
        [dict(type='Translate', level=4, prob=0.6, max_translate_offset=30.),
         dict(type='EqualizeTransform', prob=0.8)],
        [dict(type='Rotate', level=6, prob=0.4), dict(type='ColorTransform', level=6, prob=0.6)],
        [dict(type='Shear', level=6, prob=0.6, direction='vertical'),
         dict(type='BrightnessTransform', level=5, prob=0.6)],
        [dict(type='Translate', level=2, prob=0.6, direction='vertical', max_translate_offset=30.),
         dict(type='ContrastTransform', level=6, prob=0.4)],
    ]),
    dict(type='Resize', img_scale=[(256, 192), (320, 240)], multiscale_mode='range', keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(train=dict(pipeline=train_pipeline))
