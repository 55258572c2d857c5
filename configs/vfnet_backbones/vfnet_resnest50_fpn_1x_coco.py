# VFNet on ResNeSt-50 (2.x's ResNeSt backbone and its ImageNet weights).
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'
model = dict(
    pretrained='open-mmlab://resnest50',
    backbone=dict(
        _delete_=True,
        type='ResNeSt',
        stem_channels=64,
        depth=50,
        radix=2,
        reduction_factor=4,
        avg_down_stride=True,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch'),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
