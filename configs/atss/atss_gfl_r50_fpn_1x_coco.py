# ATSS trained with the Quality Focal Loss of GFL (the IoU-aware baseline the
# VFNet paper compares Varifocal Loss with)
# The original writes type='ATSSVGFLHead', use_vfl=False, use_gfl=True with the
# loss in loss_cls_vgfl (still accepted) and
# dcn_on_last_conv=False (the default); here the same head is ATSSHead with the
# loss in loss_cls.
_base_ = './atss_r50_fpn_1x_coco.py'
model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0)))
