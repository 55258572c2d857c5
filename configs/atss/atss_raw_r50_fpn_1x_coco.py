# ATSS without the centerness branch (the baseline of the VFNet paper's ablations)
_base_ = './atss_r50_fpn_1x_coco.py'
model = dict(bbox_head=dict(use_centerness=False, loss_centerness=None))
