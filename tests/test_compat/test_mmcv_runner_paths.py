"""2.x code's ``mmcv.runner`` / ``mmcv.parallel`` import paths (as 2.28's ``mmdet/core/hook/*.py`` and its
heads, necks and backbones write them), served by mmdet.compat.mmcv: the submodules, the names, BaseModule's
``init_cfg`` initialisation, ``is_module_wrapper``."""
import importlib
import math
import sys
import textwrap
import types
import warnings

import pytest
import torch
import torch.nn as nn

import mmdet  # noqa: F401  (installs the alias)
import mmdet.runner.hooks as our_hooks
from mmdet.compat import mmcv_is_alias
from mmdet.ops import ConvModule
from mmdet.parallel import MMDataParallel
from mmdet.runner import checkpoint as our_ckpt
from mmdet.runner import optimizer as our_opt
from mmdet.utils import Config, build_from_cfg

pytestmark = pytest.mark.skipif(not mmcv_is_alias(), reason='a real mmcv is installed')

BIAS_001 = -math.log((1 - 0.01) / 0.01)  # bias_init_with_prob(0.01) = -4.595


def test_runner_submodule_paths():
    from mmcv.runner.hooks import HOOKS, Hook
    from mmcv.runner.hooks.lr_updater import CosineAnnealingLrUpdaterHook, annealing_cos
    from mmcv.runner.optimizer import OPTIMIZER_BUILDERS, DefaultOptimizerConstructor
    from mmcv.runner.optimizer.builder import OPTIMIZERS, build_optimizer
    from mmcv.runner.dist_utils import get_dist_info, master_only
    from mmcv.runner.hooks.optimizer import OptimizerHook
    from mmcv.runner.hooks.checkpoint import CheckpointHook
    from mmcv.runner.hooks.logger.wandb import WandbLoggerHook
    from mmcv.runner.checkpoint import _load_checkpoint, load_checkpoint  # noqa: F401
    from mmcv.runner.base_module import BaseModule
    from mmcv.runner.fp16_utils import force_fp32  # noqa: F401
    import mmcv.runner.hooks.optimizer
    import mmcv.runner.checkpoint
    import mmcv.runner

    assert HOOKS is our_hooks.HOOKS and Hook is our_hooks.Hook and OptimizerHook is our_hooks.OptimizerHook
    assert CosineAnnealingLrUpdaterHook is our_hooks.CosineAnnealingLrUpdaterHook and annealing_cos(1, 0, 0.5) == 0.5
    assert OPTIMIZER_BUILDERS is our_opt.OPTIMIZER_BUILDERS and OPTIMIZERS is our_opt.OPTIMIZERS
    assert DefaultOptimizerConstructor is our_opt.DefaultOptimizerConstructor
    assert build_optimizer is our_opt.build_optimizer
    assert CheckpointHook is our_hooks.CheckpointHook and WandbLoggerHook is our_hooks.WandbLoggerHook
    assert get_dist_info() == (0, 1) and master_only(lambda: 7)() == 7
    assert load_checkpoint is our_ckpt.load_checkpoint
    assert mmcv.runner.checkpoint.save_checkpoint is our_ckpt.save_checkpoint
    assert BaseModule is mmcv.runner.BaseModule and mmcv.runner.hooks.optimizer.OptimizerHook is OptimizerHook
    # a package's submodule is found as an attribute / by from-import before it was imported
    from mmcv import cnn
    from mmcv.runner import hooks
    assert cnn.ConvModule is ConvModule and hooks.HOOKS is HOOKS
    with pytest.raises(ModuleNotFoundError):
        import mmcv.runner.hooks.no_such_hook_module  # noqa: F401


def test_names_2x_imports_from_mmcv_runner():
    import mmcv.runner as r
    from mmcv.runner import (EMAHook, EmptyCacheHook, Fp16OptimizerHook, GradientCumulativeOptimizerHook,  # noqa
                             IterLoader, LogBuffer, MlflowLoggerHook, Priority, WandbLoggerHook, _load_checkpoint,
                             annealing_cos, annealing_linear, get_priority, load_state_dict)
    from mmdet.runner.runner import IterLoader as OurIterLoader
    assert EMAHook is our_hooks.EMAHook and EmptyCacheHook is our_hooks.EmptyCacheHook
    assert WandbLoggerHook is our_hooks.WandbLoggerHook and MlflowLoggerHook is our_hooks.MlflowLoggerHook
    assert GradientCumulativeOptimizerHook is our_hooks.GradientCumulativeOptimizerHook
    assert LogBuffer is our_hooks.LogBuffer and IterLoader is OurIterLoader
    assert issubclass(Fp16OptimizerHook, our_hooks.OptimizerHook)
    assert annealing_linear(1, 0, 0.25) == 0.75
    levels = dict(HIGHEST=0, VERY_HIGH=10, HIGH=30, ABOVE_NORMAL=40, NORMAL=50, BELOW_NORMAL=60, LOW=70,
                  VERY_LOW=90, LOWEST=100)
    assert {p.name: p.value for p in Priority} == levels
    assert get_priority(Priority.LOW) == 70 and get_priority('VERY_LOW') == 90 and get_priority(5) == 5
    for name in ('find_latest_checkpoint', 'weights_to_cpu', 'get_state_dict'):  # not provided: named
        with pytest.raises(ImportError, match=rf"'mmcv.runner.{name}' \(mmcv 1.x\) is not provided"):
            getattr(r, name)
    with pytest.raises(ImportError, match=r"'mmcv.runner.hooks.NoSuchHook' \(mmcv 1.x\) is not provided"):
        from mmcv.runner.hooks import NoSuchHook  # noqa: F401


def test_is_module_wrapper():
    from mmcv.parallel import MODULE_WRAPPERS, is_module_wrapper
    model = nn.Linear(2, 2)
    assert not is_module_wrapper(model)
    assert is_module_wrapper(MMDataParallel(model)) and is_module_wrapper(nn.DataParallel(model))

    class MyWrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module
    assert not is_module_wrapper(MyWrapper(model))
    MODULE_WRAPPERS.register_module(module=MyWrapper)
    try:
        assert is_module_wrapper(MyWrapper(model))
    finally:
        MODULE_WRAPPERS.module_dict.pop('MyWrapper')


HOOK_MODULE = '''
# Copyright (c) OpenMMLab. All rights reserved.
import math

from mmcv.parallel import is_module_wrapper
from mmcv.runner.hooks import HOOKS, Hook


@HOOKS.register_module()
class PathTestEMAHook(Hook):
    """2.28's BaseEMAHook, as written there."""

    def __init__(self, momentum=0.0002, interval=1, skip_buffers=False, resume_from=None, momentum_fun=None):
        assert 0 < momentum < 1
        self.momentum = momentum
        self.skip_buffers = skip_buffers
        self.interval = interval
        self.checkpoint = resume_from
        self.momentum_fun = momentum_fun

    def before_run(self, runner):
        model = runner.model
        if is_module_wrapper(model):
            model = model.module
        self.param_ema_buffer = {}
        if self.skip_buffers:
            self.model_parameters = dict(model.named_parameters())
        else:
            self.model_parameters = model.state_dict()
        for name, value in self.model_parameters.items():
            buffer_name = f"ema_{name.replace('.', '_')}"
            self.param_ema_buffer[name] = buffer_name
            model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers())

    def after_train_iter(self, runner):
        if (runner.iter + 1) % self.interval != 0:
            return
        for name, parameter in self.model_parameters.items():
            if parameter.dtype.is_floating_point:
                buffer_parameter = self.model_buffers[self.param_ema_buffer[name]]
                buffer_parameter.mul_(1 - self.momentum).add_(parameter.data, alpha=self.momentum)
'''


def test_2x_hook_module_through_custom_imports(tmp_path, monkeypatch):
    pkg = tmp_path / 'pathtest_hooks'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'ema.py').write_text(HOOK_MODULE)
    (tmp_path / 'cfg.py').write_text(textwrap.dedent('''
        custom_imports = dict(imports=['pathtest_hooks.ema'], allow_failed_imports=False)
        custom_hooks = [dict(type='PathTestEMAHook', momentum=0.5)]
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        cfg = Config.fromfile(str(tmp_path / 'cfg.py'))
        assert 'pathtest_hooks.ema' in sys.modules
        hook = build_from_cfg(cfg.custom_hooks[0], our_hooks.HOOKS)
        assert type(hook).__name__ == 'PathTestEMAHook' and isinstance(hook, our_hooks.Hook)
        assert hook is not None and hook.priority == 'NORMAL'
        model = nn.Linear(2, 2)
        runner = types.SimpleNamespace(model=MMDataParallel(model), iter=0)
        hook.before_run(runner)  # is_module_wrapper unwrapped MMDataParallel: the buffers are on the model
        assert torch.equal(model.ema_weight, model.weight)
        before = model.ema_weight.clone()
        with torch.no_grad():
            model.weight.add_(2.0)
        hook.after_train_iter(runner)
        assert torch.allclose(model.ema_weight, before + 1.0)
        # importlib sees the same module
        assert importlib.import_module('pathtest_hooks.ema').PathTestEMAHook is type(hook)
    finally:
        our_hooks.HOOKS.module_dict.pop('PathTestEMAHook', None)
        for name in ('pathtest_hooks.ema', 'pathtest_hooks'):
            sys.modules.pop(name, None)


def _head_classes():
    from mmcv.cnn import ConvModule as MmcvConvModule
    from mmcv.runner import BaseModule

    class PathTestHead(BaseModule):
        """A 2.28-style dense head: stacked ConvModules in an nn.ModuleList, then the cls / reg convs."""

        def __init__(self, in_channels=64, feat_channels=64, num_classes=3, train_cfg=None, test_cfg=None,
                     init_cfg=dict(type='Normal', layer='Conv2d', std=0.01,
                                   override=dict(type='Normal', name='cls', std=0.01, bias_prob=0.01))):
            super().__init__(init_cfg)
            self.num_classes = num_classes
            self.convs = nn.ModuleList([MmcvConvModule(in_channels, feat_channels, 3, padding=1) for _ in range(2)])
            self.cls = nn.Conv2d(feat_channels, num_classes, 3, padding=1)
            self.reg = nn.Conv2d(feat_channels, 4, 3, padding=1)

        def forward(self, feats):
            return feats

    return PathTestHead


def _check_head(head):
    for conv in [c.conv for c in head.convs] + [head.reg, head.cls]:
        std = conv.weight.std().item()
        assert 0.008 < std < 0.012, std
    for conv in [c.conv for c in head.convs] + [head.reg]:
        assert conv.bias is None or torch.all(conv.bias == 0)
    assert torch.allclose(head.cls.bias, torch.full((3,), BIAS_001))


def test_base_module_head_init_cfg_as_mmcv():
    head = _head_classes()()
    assert head.init_cfg['override']['bias_prob'] == 0.01 and not head.is_init
    head.init_weights()
    _check_head(head)
    assert head.is_init and 'init_cfg=' in repr(head)
    w = head.cls.weight.clone()
    with pytest.warns(UserWarning, match='called more than once'):
        head.init_weights()
    assert torch.equal(w, head.cls.weight)


def test_base_module_head_initialised_when_the_detector_is_built():
    """SingleStageDetector calls backbone.init_weights(pretrained=...) and bbox_head.init_weights() on
    construction: a BaseModule backbone without its own init_weights and a BaseModule head are initialised."""
    from mmcv.runner import BaseModule
    from mmdet.models import build_detector
    from mmdet.models.builder import BACKBONES, HEADS

    @BACKBONES.register_module()
    class PathTestBackbone(BaseModule):
        def __init__(self, init_cfg=dict(type='Constant', layer='Conv2d', val=0.5, bias=0.25)):
            super().__init__(init_cfg)
            self.conv = nn.Conv2d(3, 64, 3)

    HEADS.register_module(module=_head_classes())
    try:
        model = build_detector(dict(type='SingleStageDetector', backbone=dict(type='PathTestBackbone'),
                                    bbox_head=dict(type='PathTestHead')))
        _check_head(model.bbox_head)
        assert torch.all(model.backbone.conv.weight == 0.5) and torch.all(model.backbone.conv.bias == 0.25)
    finally:
        BACKBONES.module_dict.pop('PathTestBackbone', None)
        HEADS.module_dict.pop('PathTestHead', None)


def test_module_list_and_sequential_with_init_cfg():
    from mmcv.runner import BaseModule, ModuleList, Sequential

    seq = Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Linear(2, 3),
                     init_cfg=dict(type='Constant', layer=['Conv2d', 'Linear'], val=1., bias=2.))
    seq.init_weights()
    assert torch.all(seq[0].weight == 1) and torch.all(seq[0].bias == 2) and torch.all(seq[2].weight == 1)
    assert isinstance(seq, nn.Sequential) and seq(torch.ones(1, 3, 2, 2)).shape == (1, 4, 2, 3)

    class Child(BaseModule):
        def __init__(self, init_cfg=None):
            super().__init__(init_cfg)
            self.fc = nn.Linear(2, 2)

    # the lower level's init_cfg runs after the parent's, so it wins (mmcv: "low levels have a higher priority")
    mlist = ModuleList([Child(init_cfg=dict(type='Constant', layer='Linear', val=3.)), Child(), nn.Linear(2, 2)],
                       init_cfg=[dict(type='Constant', layer='Linear', val=1.)])
    mlist.init_weights()
    assert torch.all(mlist[0].fc.weight == 3) and torch.all(mlist[1].fc.weight == 1)
    assert torch.all(mlist[2].weight == 1) and all(m.is_init for m in mlist[:2])
    # Kaiming / Xavier / Uniform; an override without a type takes the outer arguments
    net = Sequential(nn.Conv2d(16, 32, 3), nn.Linear(64, 64),
                     init_cfg=[dict(type='Kaiming', layer='Conv2d', mode='fan_in'),
                               dict(type='Uniform', layer='Linear', a=2., b=3., override=dict(name='1'))])
    net.init_weights()
    assert abs(net[0].weight.std().item() - math.sqrt(2 / (16 * 9))) < 0.015
    assert net[1].weight.min() >= 2 and net[1].weight.max() <= 3 and torch.all(net[1].bias == 0)


def test_pretrained_init_cfg_stops_the_children(tmp_path):
    from mmcv.runner import BaseModule

    class Net(BaseModule):
        def __init__(self, init_cfg=None):
            super().__init__(init_cfg)
            self.stem = ConvModule(3, 4, 3, norm_cfg=dict(type='BN'))  # has init_weights (kaiming)

    src = Net()
    with torch.no_grad():
        src.stem.conv.weight.fill_(0.125)
    path = str(tmp_path / 'net.pth')
    torch.save({'state_dict': src.state_dict()}, path)
    net = Net(init_cfg=dict(type='Pretrained', checkpoint=path))
    net.init_weights()
    assert torch.all(net.stem.conv.weight == 0.125)  # loaded, and not re-initialised by the child afterwards
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in src.state_dict().items()}}, path)
    net = Net(init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    net.init_weights()
    assert torch.all(net.stem.conv.weight == 0.125)


def test_checkpoint_helpers_and_fp16_optimizer_hook(tmp_path, capsys):
    from mmcv.runner import Fp16OptimizerHook, GradientCumulativeFp16OptimizerHook, _load_checkpoint, load_state_dict
    src, path = nn.Linear(2, 3), str(tmp_path / 'w.pth')
    our_ckpt.save_checkpoint(src, path)
    ckpt = _load_checkpoint(path, map_location='cpu')
    assert set(ckpt['state_dict']) == {'weight', 'bias'}
    dst = nn.Linear(2, 3)
    load_state_dict(MMDataParallel(dst), ckpt['state_dict'])
    assert torch.equal(dst.weight, src.weight) and capsys.readouterr().out == ''
    load_state_dict(dst, {'weight': torch.zeros(3, 2), 'extra': torch.zeros(1)})
    assert 'unexpected key in source state_dict: extra' in capsys.readouterr().out
    with pytest.raises(RuntimeError):
        load_state_dict(dst, {'weight': torch.zeros(3, 2)}, strict=True)

    hook = Fp16OptimizerHook(grad_clip=dict(max_norm=1.0), loss_scale=512., distributed=False)
    runner = types.SimpleNamespace(amp=None, device='cpu')
    hook.before_run(runner)
    assert runner.amp is not None and runner.amp.dtype == torch.bfloat16 and hook.grad_clip == dict(max_norm=1.0)
    hook = GradientCumulativeFp16OptimizerHook(cumulative_iters=2, loss_scale='dynamic')
    runner = types.SimpleNamespace(amp=None, device='cpu', module=nn.Linear(2, 2), iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        hook.before_run(runner)
    assert runner.amp is not None and hook.cumulative_iters == 2
