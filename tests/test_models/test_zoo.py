"""Every seed config builds and runs forward_train + backward + simple_test on a small input."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch

from mmdet.models import build_detector
from mmdet.utils import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(p for d in ('vfnet', 'atss', 'retinanet') for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(p) for p in CONFIGS])
def test_config_trains_and_tests(path):
    torch.manual_seed(0)
    cfg = Config.fromfile(path)
    cfg.model.pretrained = None
    if cfg.model.backbone.get('depth') == 101:  # same blocks at depth 50; the layout tests check depth 101
        cfg.model.backbone.depth = 50
    model = build_detector(cfg.model)
    h, w = 96, 128
    meta = dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), scale_factor=np.ones(4, np.float32),
                flip=False, flip_direction=None)
    img = torch.randn(1, 3, h, w)
    model.train()
    losses = model.forward_train(img, [dict(meta)], [torch.tensor([[8., 10., 70., 80.], [60., 20., 120., 60.]])],
                                 [torch.tensor([1, 7])])
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total), losses
    total.backward()
    model.eval()
    with torch.no_grad():
        res = model.simple_test(img, [dict(meta)], rescale=True)
    assert len(res) == 1 and len(res[0]) == cfg.model.bbox_head.num_classes
