# RetinaNet trained with Varifocal Loss (4 GPUs x 4 images): the IoU of a
# positive anchor's decoded box with its gt is its classification target
_base_ = [
    '../_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    bbox_head=dict(
        use_vfl=True,  # False: the Focal Loss baseline of _base_/models/retinanet_r50_fpn.py
        loss_cls_vfl=dict(
            type='VarifocalLoss',
            use_sigmoid=True,
            alpha=0.75,
            gamma=2.0,
            iou_weighted=True,
            loss_weight=1.0)))
data = dict(samples_per_gpu=4, workers_per_gpu=4)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.1, step=[8, 11])
