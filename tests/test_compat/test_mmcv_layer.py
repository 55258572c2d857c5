"""The mmcv 1.x names 2.x code imports, served by mmdet.compat.mmcv (as ``mmcv`` without a real mmcv)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn as nn

import mmdet  # noqa: F401  (installs the alias)
from mmdet.compat import mmcv_is_alias
from mmdet.parallel import DataContainer, MMDataParallel, collate
from mmdet.runner import build_optimizer
from mmdet.runner.fp16 import auto_fp16, force_fp32
from mmdet.runner.optimizer import OPTIMIZER_BUILDERS, OPTIMIZERS, DefaultOptimizerConstructor
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not mmcv_is_alias(), reason='a real mmcv is installed')


def test_2x_imports_resolve_to_this_package():
    from mmcv import Config
    from mmcv.cnn import ConvModule, Scale, bias_init_with_prob, build_norm_layer, normal_init  # noqa: F401
    from mmcv.ops import DeformConv2d, batched_nms  # noqa: F401
    from mmcv.parallel import DataContainer as DC
    from mmcv.parallel import collate as mmcv_collate  # noqa: F401
    from mmcv.runner import HOOKS, OPTIMIZERS as O, Hook, auto_fp16 as a16, force_fp32 as f32, load_checkpoint  # noqa
    from mmcv.utils import Registry, build_from_cfg  # noqa: F401

    import mmdet.ops
    import mmdet.runner.hooks
    import mmdet.utils
    assert ConvModule is mmdet.ops.ConvModule and Config is mmdet.utils.Config and HOOKS is mmdet.runner.hooks.HOOKS
    assert O is OPTIMIZERS and DC is DataContainer and f32 is force_fp32 and a16 is auto_fp16
    with pytest.raises(ImportError, match=r"'mmcv.ops.RoIAlign' \(mmcv 1.x\) is not provided.*porting_2x"):
        from mmcv.ops import RoIAlign  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        import mmcv.no_such_module  # noqa: F401


def test_a_real_mmcv_wins(tmp_path):
    real = tmp_path / 'mmcv'
    real.mkdir()
    (real / '__init__.py').write_text("REAL = True\n")
    code = textwrap.dedent('''
        import mmdet, mmcv
        from mmdet.compat import mmcv_is_alias
        assert mmcv.REAL and not mmcv_is_alias()
        try:
            import mmcv.cnn
        except ModuleNotFoundError:
            print('NOT_SERVED')
    ''')
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), ROOT])}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'NOT_SERVED' in out.stdout  # a submodule the real mmcv lacks is not filled in from ours


class Decoder(nn.Module):
    @force_fp32(apply_to=('x',))
    def decode(self, x, y):
        return x.dtype, y.dtype, torch.is_autocast_enabled('cpu'), (x @ x).dtype

    @auto_fp16(out_fp32=True)
    def half(self, x):
        return nn.functional.linear(x, torch.ones(2, 2))


def test_force_fp32_and_auto_fp16_under_autocast():
    m = Decoder()
    x = torch.ones(2, 2, dtype=torch.bfloat16)
    assert m.decode(x, x) == (torch.bfloat16, torch.bfloat16, False, torch.bfloat16)  # no autocast: as is
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert m.decode(x, x) == (torch.float32, torch.bfloat16, False, torch.float32)
        assert m.half(torch.ones(1, 2)).dtype == torch.float32
        assert nn.functional.linear(torch.ones(1, 2), torch.ones(2, 2)).dtype == torch.bfloat16


def test_data_container_collate_and_mmdataparallel():
    samples = [dict(img=DataContainer(torch.ones(3, 4, 5) * i, stack=True, padding_value=-1),
                    img_metas=DataContainer(dict(i=i), cpu_only=True),
                    gt_bboxes=DataContainer(torch.zeros(i + 1, 4)),
                    n=i) for i in range(3)]
    samples[1]['img'] = DataContainer(torch.ones(3, 6, 2), stack=True, padding_value=-1)
    batch = collate(samples, samples_per_gpu=2)
    assert [t.shape for t in batch['img'].data] == [(2, 3, 6, 5), (1, 3, 4, 5)]
    assert batch['img'].data[0][1, 0, :, 2:].eq(-1).all() and batch['img'].data[0][0, 0, 4:].eq(-1).all()
    assert batch['img_metas'].cpu_only and batch['img_metas'].data == [[dict(i=0), dict(i=1)], [dict(i=2)]]
    assert [len(c) for c in batch['gt_bboxes'].data] == [2, 1] and not batch['gt_bboxes'].stack
    assert torch.equal(batch['n'], torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match='pad_dims'):
        DataContainer(1, pad_dims=4)
    with pytest.raises(ValueError, match='differ outside the padded dims'):
        collate([DataContainer(torch.ones(3, 2, 2), stack=True), DataContainer(torch.ones(1, 2, 2), stack=True)], 2)

    class Echo(nn.Module):
        def forward(self, img, img_metas, return_loss=True):
            return img.shape, img_metas, return_loss

        def train_step(self, data, optimizer):
            return data['img'].shape, data['img_metas']

    model = MMDataParallel(Echo(), device_ids=[0])
    # one process drives one device: a batch collated into two chunks is refused, not half dropped
    with pytest.raises(ValueError, match='2 chunks.*samples_per_gpu'):
        model(return_loss=False, img=batch['img'], img_metas=batch['img_metas'])
    batch = collate(samples, samples_per_gpu=3)
    shape, metas, rl = model(return_loss=False, img=batch['img'], img_metas=batch['img_metas'])
    assert shape == (3, 3, 6, 5) and metas == [dict(i=0), dict(i=1), dict(i=2)] and rl is False
    assert model.train_step(batch, None) == ((3, 3, 6, 5), [dict(i=0), dict(i=1), dict(i=2)])


def test_mmcv_ops_sigmoid_focal_loss_convention():
    from mmcv.ops import sigmoid_focal_loss
    g = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(6, 3, generator=g), torch.tensor([0, 1, 2, 3, 3, 1])  # 3 = background
    onehot = nn.functional.one_hot(labels, 4)[:, :3].float()
    p = logits.sigmoid()
    pt = (1 - p) * onehot + p * (1 - onehot)
    ref = (0.25 * onehot + 0.75 * (1 - onehot)) * pt ** 2 * nn.functional.binary_cross_entropy_with_logits(
        logits, onehot, reduction='none')
    assert torch.allclose(sigmoid_focal_loss(logits, labels, 2.0, 0.25, None, 'none'), ref, atol=1e-6)
    assert torch.allclose(sigmoid_focal_loss(logits, labels), ref.sum() / 6, atol=1e-6)
    w = torch.tensor([1., 0., 2.])
    assert torch.allclose(sigmoid_focal_loss(logits, labels, weight=w, reduction='sum'), (ref * w).sum(), atol=1e-6)


def test_mmcv_image_and_file_helpers(tmp_path):
    import mmcv
    img = (np.arange(40 * 60 * 3) % 251).astype(np.uint8).reshape(40, 60, 3)
    assert mmcv.imwrite(img, str(tmp_path / 'sub' / 'a.png'))
    back = mmcv.imread(str(tmp_path / 'sub' / 'a.png'))
    assert np.array_equal(back, img) and np.array_equal(mmcv.imread(str(tmp_path / 'sub' / 'a.png'),
                                                                     channel_order='rgb'), img[..., ::-1])
    small, factor = mmcv.imrescale(img, (30, 20), return_scale=True)
    assert small.shape == (20, 30, 3) and factor == pytest.approx(0.5)
    resized, ws, hs = mmcv.imresize(img, (30, 10), return_scale=True)
    assert resized.shape == (10, 30, 3) and (ws, hs) == (0.5, 0.25)
    padded = mmcv.impad(img, shape=(48, 64), pad_val=7)
    assert padded.shape == (48, 64, 3) and (padded[40:] == 7).all() and (padded[:, 60:] == 7).all()
    assert (padded[:40, :60] == img).all()
    with pytest.raises(ValueError, match='exactly one'):
        mmcv.impad(img)
    data = dict(a=[1, 2], b=np.float32(0.5))
    mmcv.dump(data, str(tmp_path / 'x.json'))
    assert mmcv.load(str(tmp_path / 'x.json')) == dict(a=[1, 2], b=0.5)
    mmcv.dump(data, str(tmp_path / 'x.pkl'))
    assert mmcv.load(str(tmp_path / 'x.pkl'))['a'] == [1, 2]
    with pytest.raises(TypeError, match="unsupported file format 'txt'"):
        mmcv.load(str(tmp_path / 'x.txt'))
    assert mmcv.is_list_of([1, 2], int) and not mmcv.is_tuple_of([1], int) and mmcv.is_str('a')
    assert mmcv.digit_version('1.3.17') > mmcv.digit_version('1.3.0rc1')
    assert list(mmcv.track_iter_progress([1, 2])) == [1, 2]
    (tmp_path / 'classes.txt').write_text('header\ncat\ndog\nbird\n')
    assert mmcv.list_from_file(str(tmp_path / 'classes.txt'), offset=1) == ['cat', 'dog', 'bird']
    assert mmcv.list_from_file(str(tmp_path / 'classes.txt'), prefix='n_', max_num=2) == ['n_header', 'n_cat']
    (tmp_path / 'map.txt').write_text('1 cat\n2 dog big\n')
    assert mmcv.dict_from_file(str(tmp_path / 'map.txt'), key_type=int) == {1: 'cat', 2: ['dog', 'big']}


def test_user_optimizer_and_constructor_registered_the_2x_way():
    from mmcv.runner import OPTIMIZER_BUILDERS as B, OPTIMIZERS as O

    @O.register_module()
    class MyOptimizer(torch.optim.SGD):
        pass

    @B.register_module()
    class FrozenBiasConstructor(DefaultOptimizerConstructor):
        def add_params(self, params, module):
            super().add_params(params, module)
            for group in params:
                if group['params'][0].ndim == 1:
                    group['lr'] = 0.0

    try:
        model = nn.Linear(2, 2)
        opt = build_optimizer(model, dict(type='MyOptimizer', lr=0.1, momentum=0.9, constructor='FrozenBiasConstructor',
                                          paramwise_cfg=dict(bias_lr_mult=1.0)))
        assert type(opt) is MyOptimizer
        assert sorted(g['lr'] for g in opt.param_groups) == [0.0, 0.1]
    finally:
        OPTIMIZERS.module_dict.pop('MyOptimizer')
        OPTIMIZER_BUILDERS.module_dict.pop('FrozenBiasConstructor')
