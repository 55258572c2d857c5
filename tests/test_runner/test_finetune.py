"""load_from a checkpoint with another class count: everything but the
classifier loads, one log line names what was skipped and why."""
import logging

import torch

from mmdet.models import build_detector
from mmdet.runner import load_checkpoint
from mmdet.utils import Config
from tests.conftest import ROOT


def small_vfnet(num_classes):
    cfg = Config.fromfile(f'{ROOT}/configs/vfnet/vfnet_r50_fpn_1x_coco.py')
    cfg.model.pretrained = None
    cfg.model.backbone.depth = 18
    cfg.model.neck.update(in_channels=[64, 128, 256, 512], out_channels=32)
    cfg.model.bbox_head.update(num_classes=num_classes, in_channels=32, feat_channels=32,
                               norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    return build_detector(cfg.model)


def test_coco_checkpoint_into_a_three_class_model(tmp_path, caplog):
    coco = small_vfnet(80)
    path = tmp_path / 'coco.pth'
    torch.save(dict(state_dict=coco.state_dict(), meta=dict(epoch=12)), path)
    mine = small_vfnet(3)
    before = mine.bbox_head.vfnet_cls.weight.detach().clone()
    logger = logging.getLogger('finetune-test')
    with caplog.at_level(logging.INFO, logger='finetune-test'):
        load_checkpoint(mine, str(path), logger=logger)
    skipped = [r.getMessage() for r in caplog.records if 'shape differs' in r.getMessage()]
    assert len(skipped) == 1
    assert 'bbox_head.vfnet_cls.weight: checkpoint (80, 32, 3, 3) vs model (3, 32, 3, 3)' in skipped[0]
    assert 'bbox_head.vfnet_cls.bias' in skipped[0] and '2 tensors' in skipped[0]
    assert torch.equal(mine.bbox_head.vfnet_cls.weight, before)
    theirs, ours = coco.state_dict(), mine.state_dict()
    for k in ours:
        if not k.startswith('bbox_head.vfnet_cls.'):
            assert torch.equal(ours[k], theirs[k]), k
