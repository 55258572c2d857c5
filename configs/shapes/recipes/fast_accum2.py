# The quickstart's fast recipe with the gradients of 2 iterations summed before each step
# (GradientCumulativeOptimizerHook): batches of 4 images, steps of 8, half as many steps.
# Measured in docs/training_recipes.md.
_base_ = '../vfnet_r18_fpn_shapes_fast.py'

optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=2)
