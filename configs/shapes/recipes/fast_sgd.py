# The quickstart's fast recipe with the seed's optimiser (SGD, momentum 0.9, weight decay 1e-4) at lr 0.02
# instead of AdamW.  Measured in docs/training_recipes.md.
_base_ = '../vfnet_r18_fpn_shapes_fast.py'

optimizer = dict(_delete_=True, type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001,
                 paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))
