# VFNet-R50 1x with YOLOX's multi-image augmentation (MMDetection 2.28): Mosaic of four images,
# RandomAffine, MixUp with a fifth and YOLOX's HSV jitter, through MultiImageMixDataset (see
# docs/training_recipes.md, "YOLOX: Mosaic and MixUp").  Only the training data changes; the model,
# the test pipeline, the schedule and the SWA stage are those of vfnet_r50_fpn_1x_coco.py.
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'

dataset_type = 'CocoDataset'
data_root = 'data/coco/'
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
# (h, w) of one training image: Mosaic builds a 2 * img_scale canvas, RandomAffine's negative border
# cuts it back to img_scale.  800 x 800 keeps the short side of the seed's 1333 x 800 (and is a
# multiple of 32, the largest FPN stride used by the pad).
img_scale = (800, 800)
train_pipeline = [
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0),
    dict(
        type='RandomAffine',
        scaling_ratio_range=(0.1, 2),
        border=(-img_scale[0] // 2, -img_scale[1] // 2)),
    dict(
        type='MixUp',
        img_scale=img_scale,
        ratio_range=(0.8, 1.6),
        pad_val=114.0),
    dict(type='YOLOXHSVRandomAug'),  # needs the uint8 image MixUp returns: before Normalize
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Resize', img_scale=img_scale, keep_ratio=True),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size=img_scale, pad_val=0),  # after Normalize: 0 is the mean colour
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(
    train=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type=dataset_type,
            ann_file=data_root + 'annotations/instances_train2017.json',
            img_prefix=data_root + 'train2017/',
            # the wrapped dataset only loads; images without boxes are kept, as in YOLOX
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True)
            ],
            filter_empty_gt=False),
        pipeline=train_pipeline))
