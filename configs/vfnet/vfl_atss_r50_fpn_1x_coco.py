_base_ = '../atss/atss_vfl_r50_fpn_1x_coco.py'
