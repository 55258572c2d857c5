# ATSS without the centerness branch (the baseline of the VFNet paper's ablations)
# The original writes type='ATSSRawHead' (still accepted) and
# dcn_on_last_conv=False (the default); here the same head is
# ATSSHead(use_centerness=False).
_base_ = './atss_r50_fpn_1x_coco.py'
model = dict(bbox_head=dict(use_centerness=False, loss_centerness=None))
