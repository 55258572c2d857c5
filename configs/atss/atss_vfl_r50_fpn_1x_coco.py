# ATSS trained with Varifocal Loss: the classification target of a positive is
# the IoU of its decoded box with the gt; centerness is kept (loss and test score).
# (The original reset use_vfl inside the anchor-head base class and silently
# trained with Focal Loss; here the config is obeyed.)  The original writes
# type='ATSSVGFLHead', use_gfl=False with the loss in loss_cls_vgfl (still
# accepted) and dcn_on_last_conv=False (the default); here ATSSHead with the
# loss in loss_cls.
_base_ = './atss_r50_fpn_1x_coco.py'
model = dict(
    bbox_head=dict(
        use_vfl=True,
        loss_cls=dict(
            _delete_=True,
            type='VarifocalLoss',
            use_sigmoid=True,
            alpha=0.75,
            gamma=2.0,
            iou_weighted=True,
            loss_weight=1.0)))
