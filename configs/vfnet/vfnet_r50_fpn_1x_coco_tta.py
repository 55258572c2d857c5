_base_ = './vfnet_r50_fpn_1x_coco.py'
# test-time augmentation: four scales, each with and without horizontal flip;
# every view is decoded without NMS, mapped back to the original image, and the
# union goes through one multi-class NMS (model.test_cfg)
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiScaleFlipAug',
        img_scale=[(1200, 800), (1300, 900), (1500, 1000), (1600, 1200)],
        flip=True,
        transforms=[
            dict(type='Resize', keep_ratio=True),
            dict(type='RandomFlip'),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            # the original: ImageToTensor(keys=['img']), the same tensor (see
            # vfnet_r50_fpn_1x_coco.py)
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img']),
        ])
]
data = dict(
    val=dict(pipeline=test_pipeline),
    test=dict(pipeline=test_pipeline))
