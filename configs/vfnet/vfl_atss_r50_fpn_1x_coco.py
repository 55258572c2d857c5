# The original spells out the ATSSVGFLHead(use_vfl=True) model here; it is the same model as
# atss/atss_vfl_r50_fpn_1x_coco.py (the original text builds the same head and trains with VFL here:
# tests/test_models/test_original_vfnet_atss.py), so this file inherits it instead of repeating it.
_base_ = '../atss/atss_vfl_r50_fpn_1x_coco.py'
