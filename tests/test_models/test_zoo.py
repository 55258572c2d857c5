"""Every seed config builds and runs forward_train + backward + simple_test on a small input."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch

from mmdet.models import build_detector
from mmdet.utils import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(p for d in ('vfnet', 'atss') for p in glob.glob(osp.join(ROOT, 'configs', d, '*.py')))


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
    seen = []  # the classification targets of every call (2.x anchor heads call the loss once per level)
    loss_cls = model.bbox_head.loss_cls
    real = loss_cls.forward

    def spy(pred, target, *a, **k):
        seen.append(target)
        return real(pred, target, *a, **k)
    loss_cls.forward = spy
    losses = model.forward_train(img, [dict(meta)], [torch.tensor([[8., 10., 70., 80.], [60., 20., 120., 60.]])],
                                 [torch.tensor([1, 7])])
    total, _ = model._parse_losses(losses)  # 2.x: a loss is a tensor or a list of per-level tensors
    assert torch.isfinite(total), losses
    total.backward()
    if cfg.model.bbox_head.get('use_vfl', True) and type(loss_cls).__name__ == 'VarifocalLoss':
        t = torch.cat(seen)  # IoU-aware targets: soft scores at the gt classes only
        assert t.shape == (t.shape[0], cfg.model.bbox_head.num_classes) and t.is_floating_point()
        assert (t > 0).any() and (t <= 1).all() and (t[t > 0] < 1).any()
        assert set((t > 0).nonzero()[:, 1].tolist()) <= {1, 7}
    empty = model.forward_train(img, [dict(meta)], [torch.zeros(0, 4)], [torch.zeros(0, dtype=torch.long)])
    assert all(np.isfinite(v) for v in model._parse_losses(empty)[1].values()), empty
    model.eval()
    with torch.no_grad():
        res = model.simple_test(img, [dict(meta)], rescale=True)
    assert len(res) == 1 and len(res[0]) == cfg.model.bbox_head.num_classes
