# VFNet on Swin-T (timm). strict_img_size=False lets the 224-px model take any
# input whose sides are multiples of 4 (the pipeline pads to 32); windows are padded.
_base_ = '../vfnet/vfnet_r50_fpn_1x_coco.py'
model = dict(
    pretrained='timm://swin_tiny_patch4_window7_224.ms_in1k',
    backbone=dict(
        _delete_=True,
        type='TIMMBackbone',
        model_name='swin_tiny_patch4_window7_224',
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        strict_img_size=False,
        drop_path_rate=0.2),
    neck=dict(in_channels=[96, 192, 384, 768]))
