# VFNet on EfficientNet-B3 (timm): its feature levels 1-4 (strides 4-32).
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'
model = dict(
    pretrained='timm://efficientnet_b3.ra2_in1k',
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='efficientnet_b3',
        out_indices=(1, 2, 3, 4),
        frozen_stages=1,
        norm_eval=True),
    neck=dict(in_channels=[32, 48, 136, 384]))
