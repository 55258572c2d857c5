# VFNet-R50 1x on 4 GPUs x 2 images with the gradients of 2 iterations summed before each step
# (mmcv 1.x's GradientCumulativeOptimizerHook): 4 x 2 x 2 = 16 images a step, the batch the seed's
# lr=0.01 is tuned for (8 GPUs x 2 images).  BatchNorm still sees 2 images (the backbone's BN is frozen
# in eval mode by norm_eval=True, the head uses GroupNorm: nothing changes for VFNet).
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'

data = dict(samples_per_gpu=2)
optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2)
# the lr hooks count iterations, not steps: 1000 iterations are the seed's 500 warm-up steps
lr_config = dict(warmup_iters=1000)
swa_optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2)
