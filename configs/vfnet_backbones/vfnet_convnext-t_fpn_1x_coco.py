# VFNet on ConvNeXt-T (timm). The weights are read from a local file only:
# see docs/backbones.md for where to put convnext_tiny.fb_in1k's.
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'
model = dict(
    pretrained='timm://convnext_tiny.fb_in1k',
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='convnext_tiny',
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        drop_path_rate=0.2),
    neck=dict(in_channels=[96, 192, 384, 768]))
