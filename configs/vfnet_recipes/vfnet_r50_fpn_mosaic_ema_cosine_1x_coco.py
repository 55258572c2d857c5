# The YOLOX-style recipe on VFNet-R50: the Mosaic + MixUp training data of
# vfnet_r50_fpn_mosaic_mixup_1x_coco.py with the EMA and cosine schedule of
# vfnet_r50_fpn_ema_cosine_1x_coco.py (both inherit the seed config, so one of them is the base
# here and the other's three settings are repeated).
_base_ = './vfnet_r50_fpn_mosaic_mixup_1x_coco.py'

custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='ExpMomentumEMAHook', momentum=0.0002, priority=49),
]
lr_config = dict(
    _delete_=True,
    policy='CosineAnnealing',
    by_epoch=False,
    warmup='linear',
    warmup_iters=500,
    warmup_ratio=0.1,
    min_lr_ratio=0.01)
swa_training = False
