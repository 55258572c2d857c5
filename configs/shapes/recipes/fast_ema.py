# The quickstart's fast recipe + an exponential moving average of the weights (2.x YOLOX's
# ExpMomentumEMAHook); the EMA weights are evaluated and saved.  Measured in docs/training_recipes.md.
_base_ = '../vfnet_r18_fpn_shapes_fast.py'

custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='ExpMomentumEMAHook', momentum=0.001, total_iter=200, priority=49),
]
