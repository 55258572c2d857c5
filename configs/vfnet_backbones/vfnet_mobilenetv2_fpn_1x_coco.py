# VFNet on MobileNetV2 (2.x's MobileNetV2 backbone): layer2, layer3, layer5 and
# conv2 (strides 4, 8, 16, 32).
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'
model = dict(
    pretrained='open-mmlab://mmdet/mobilenet_v2',
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(1, 2, 4, 7),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True),
    neck=dict(in_channels=[24, 32, 96, 1280]))
