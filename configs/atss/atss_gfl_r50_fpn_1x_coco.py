# ATSS trained with the Quality Focal Loss of GFL (the IoU-aware baseline the
# VFNet paper compares Varifocal Loss with)
_base_ = './atss_r50_fpn_1x_coco.py'
model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='QualityFocalLoss',
            use_sigmoid=True,
            beta=2.0,
            loss_weight=1.0)))
