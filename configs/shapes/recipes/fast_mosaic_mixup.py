# The quickstart's fast recipe with YOLOX's multi-image training data: Mosaic of four images, RandomAffine
# back to one image's size, MixUp with a fifth and the HSV jitter, through MultiImageMixDataset (as
# configs/vfnet_recipes/vfnet_r50_fpn_mosaic_mixup_1x_coco.py at 320 x 320).  Measured in
# docs/training_recipes.md.
_base_ = '../vfnet_r18_fpn_shapes_fast.py'

img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
img_scale = (320, 320)
train_pipeline = [
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0),
    dict(type='RandomAffine', scaling_ratio_range=(0.5, 1.5), border=(-img_scale[0] // 2, -img_scale[1] // 2)),
    dict(type='MixUp', img_scale=img_scale, ratio_range=(0.8, 1.6), pad_val=114.0),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Resize', img_scale=img_scale, keep_ratio=True),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size=img_scale, pad_val=0),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(
    train=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type='CocoDataset',
            classes=('ellipse', 'rectangle', 'triangle'),
            ann_file='data/shapes/annotations/instances_train.json',
            img_prefix='data/shapes/train/',
            pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)],
            filter_empty_gt=False),
        pipeline=train_pipeline))
