# The quickstart's fast recipe with the seed's step schedule instead of the per-iteration cosine:
# lr x 0.1 after epochs 6 and 7 (warm-up unchanged).  Measured in docs/training_recipes.md.
_base_ = '../vfnet_r18_fpn_shapes_fast.py'

lr_config = dict(_delete_=True, policy='step', step=[6, 7], warmup='linear', warmup_iters=50, warmup_ratio=0.1)
