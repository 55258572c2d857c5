# VFNet-R50 1x with an exponential moving average of the weights (2.x YOLOX's ExpMomentumEMAHook, via
# custom_hooks) and a per-iteration cosine learning rate instead of the step schedule.  Evaluation and
# the epoch checkpoints use the EMA weights (docs/training_recipes.md, "EMA of the weights").
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'

custom_hooks = [
    dict(type='NumClassCheckHook'),  # default_runtime.py's hook: a list replaces the base's list
    dict(type='ExpMomentumEMAHook', momentum=0.0002, priority=49),
]
lr_config = dict(
    _delete_=True,  # the step policy's `step` means nothing to the cosine policy
    policy='CosineAnnealing',
    by_epoch=False,  # the cosine moves every iteration, not once per epoch
    warmup='linear',
    warmup_iters=500,
    warmup_ratio=0.1,
    min_lr_ratio=0.01)
# the EMA already averages the weights: no SWA stage on top of it
swa_training = False
