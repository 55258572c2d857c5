# VFNet without the star-shaped deformable conv and the box refinement:
# the IoU-aware classification score trained with Varifocal Loss on its own
_base_ = './vfnet_r50_fpn_1x_coco.py'
model = dict(bbox_head=dict(type='VFNetRawHead'))
