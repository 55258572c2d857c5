import numpy as np
import torch

from mmdet.models import build_detector
from mmdet.models.fuse import fuse_conv_bn
from mmdet.utils import Config
from tests.conftest import ROOT
from tests.fidelity import fill_deterministic


def test_fused_model_detects_the_same():
    cfg = Config.fromfile(f'{ROOT}/configs/vfnet/vfnet_r50_fpn_mdconv_c3-c5_mstrain_2x_coco.py')
    cfg.model.pretrained = None
    cfg.model.test_cfg.score_thr = 0.005
    model = build_detector(cfg.model).eval()
    fill_deterministic(model)
    x = torch.randn(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    meta = [dict(img_shape=(128, 160, 3), pad_shape=(128, 160, 3), scale_factor=np.ones(4, np.float32))]
    with torch.no_grad():
        ref = model.simple_test(x, meta)
        n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        fuse_conv_bn(model)
        left = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
        got = model.simple_test(x, meta)
    assert 0 < left < n_bn  # BN after plain convs folded, after deformable convs kept
    for r, g in zip(ref[0], got[0]):
        assert r.shape == g.shape and np.allclose(r, g, atol=1e-3)
