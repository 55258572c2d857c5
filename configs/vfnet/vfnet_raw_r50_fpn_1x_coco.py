# "Raw" VFNet: FCOS + ATSS without centerness, no star-shaped deformable conv,
# no box refinement, trained with Focal Loss (use_vfl=True switches to VFL on the
# initial box's IoU).  The baseline of the VFNet paper's ablations; as in the
# original repository it has no SWA stage.
# The original is a standalone file without _base_/swa.py; inheriting the seed
# config brings its swa_* keys, inert with swa_training = False.
_base_ = './vfnet_r50_fpn_1x_coco.py'
model = dict(
    bbox_head=dict(
        type='VFNetRawHead',
        use_vfl=False,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_bbox_refine=None))
swa_training = False
