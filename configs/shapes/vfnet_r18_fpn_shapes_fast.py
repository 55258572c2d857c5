# The quickstart's default: the model and data of vfnet_r18_fpn_shapes.py, trained in about 4.5 minutes on
# 2 CPU cores instead of 16 epochs: 8 epochs, training images of 256-320 px (was 288-352), twice the AdamW
# learning rate with a per-iteration cosine decay after a 50-iteration warm-up (was a step schedule).
# Measured in docs/training_recipes.md ("The quickstart recipe").
_base_ = './vfnet_r18_fpn_shapes.py'

img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=[(256, 192), (320, 240)], multiscale_mode='range', keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data = dict(train=dict(pipeline=train_pipeline))
optimizer = dict(lr=0.002)
lr_config = dict(_delete_=True, policy='CosineAnnealing', min_lr_ratio=0.05, by_epoch=False,
                 warmup='linear', warmup_iters=50, warmup_ratio=0.1)
runner = dict(type='EpochBasedRunner', max_epochs=8)
evaluation = dict(interval=8, metric='bbox', save_best='bbox_mAP')
checkpoint_config = dict(interval=8, max_keep_ckpts=1)
