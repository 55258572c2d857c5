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


def test_restricted_unpickler_imports_nothing_the_file_names(tmp_path):
    """Only an exact allow-list is resolved: a pickle naming numpy.f2py.__main__
    (whose import would run f2py) or os.system gets inert stand-ins, and
    dict/list subclasses (mmcv's ConfigDict) keep their items."""
    import io
    import pickle
    import warnings

    from mmdet.runner.checkpoint import _SafeUnpickler
    payload = b'cnumpy.f2py.__main__\nmain\n(tR.'  # GLOBAL, empty tuple, REDUCE: "call f2py's main()"
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        out = _SafeUnpickler(io.BytesIO(payload)).load()
    assert type(out).__module__ == 'numpy.f2py.__main__' and 'stand-in' in repr(out)

    import sys
    import types

    class ConfigDict(dict):
        pass
    ConfigDict.__module__, ConfigDict.__qualname__ = 'mmcv_like_config', 'ConfigDict'
    fake = types.ModuleType('mmcv_like_config')
    fake.ConfigDict = ConfigDict
    sys.modules['mmcv_like_config'] = fake
    try:
        data = pickle.dumps(ConfigDict(a=1, b=[1, 2]), protocol=2)
    finally:
        del sys.modules['mmcv_like_config']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loaded = _SafeUnpickler(io.BytesIO(data)).load()
    assert loaded.items == {'a': 1, 'b': [1, 2]}


def test_imnormalize_other_inputs_follow_the_formula():
    import numpy as np

    from mmdet.datasets.pipelines.transforms import imnormalize
    rng = np.random.RandomState(0)
    gray = rng.randint(0, 256, (5, 6, 1)).astype(np.uint8)
    out = imnormalize(gray, [100.], [50.], to_rgb=False)
    assert out.shape == (5, 6, 1) and np.array_equal(out, (gray.astype(np.float32) - 100) / 50)
    f64 = rng.rand(5, 6, 3) * 255
    out = imnormalize(f64, [1, 2, 3], [4, 5, 6], to_rgb=True)
    ref = (f64.astype(np.float32)[..., ::-1] - np.array([1, 2, 3], np.float32)) / np.array([4, 5, 6], np.float32)
    assert out.dtype == np.float32 and np.array_equal(out, ref)
