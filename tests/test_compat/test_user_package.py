"""A user's own package, written as the 2.x tutorials show (mmcv imports included), loaded with
custom_imports on top of the shipped seed config: it trains, evaluates and tests with each part used."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, write_user_config
from tests.test_tools.test_end_to_end import bbox_map

PACKAGE = {
    '__init__.py': '',
    'backbone.py': '''
        import torch.nn as nn
        from mmcv.cnn import ConvModule, kaiming_init

        from mmdet.models.builder import BACKBONES
        from .marks import mark


        @BACKBONES.register_module()
        class TinyNet(nn.Module):
            """Four stride-2 stages, the channels of a ResNet-18 stem divided by 4."""

            def __init__(self, widths=(16, 32, 64, 128), norm_cfg=dict(type='BN')):
                super().__init__()
                self.stem = ConvModule(3, widths[0], 3, stride=4, padding=1, norm_cfg=norm_cfg)
                chans = (widths[0],) + tuple(widths)
                self.stages = nn.ModuleList(
                    ConvModule(chans[i], chans[i + 1], 3, stride=1 if i == 0 else 2, padding=1, norm_cfg=norm_cfg)
                    for i in range(4))

            def init_weights(self, pretrained=None):
                for m in self.modules():
                    if isinstance(m, nn.Conv2d):
                        kaiming_init(m)

            def forward(self, x):
                mark('backbone')
                x = self.stem(x)
                outs = []
                for stage in self.stages:
                    x = stage(x)
                    outs.append(x)
                return tuple(outs)
    ''',
    'transforms.py': '''
        import numpy as np
        from mmdet.datasets import PIPELINES
        from .marks import mark


        @PIPELINES.register_module()
        class MyTransform:
            """Brightens the image by ``delta`` (the tutorials' example transform, made useful)."""

            def __init__(self, delta=10):
                self.delta = delta

            def __call__(self, results):
                mark('transform')
                results['img'] = np.clip(results['img'].astype(np.float32) + self.delta, 0, 255).astype(np.uint8)
                return results
    ''',
    'loss.py': '''
        import torch
        import torch.nn as nn

        from mmdet.models.builder import LOSSES
        from mmdet.models.losses.utils import weighted_loss
        from .marks import mark


        @weighted_loss
        def my_loss(pred, target):
            assert pred.size() == target.size() and target.numel() > 0
            return torch.abs(pred - target).sum(-1) / 100.0


        @LOSSES.register_module()
        class MyLoss(nn.Module):

            def __init__(self, reduction='mean', loss_weight=1.0):
                super(MyLoss, self).__init__()
                self.reduction = reduction
                self.loss_weight = loss_weight

            def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
                mark('loss')
                assert reduction_override in (None, 'none', 'mean', 'sum')
                reduction = reduction_override if reduction_override else self.reduction
                return self.loss_weight * my_loss(pred, target, weight, reduction=reduction, avg_factor=avg_factor)
    ''',
    'optimizer.py': '''
        from mmcv.runner import OPTIMIZERS
        from torch.optim import SGD
        from .marks import mark


        @OPTIMIZERS.register_module()
        class MyOptimizer(SGD):

            def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, nesterov=True):
                super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)

            def step(self, closure=None):
                mark('optimizer')
                return super().step(closure)
    ''',
    'hook.py': '''
        from mmcv.runner import HOOKS, Hook
        from .marks import mark


        @HOOKS.register_module()
        class MyHook(Hook):

            def __init__(self, every=1):
                self.every = every
                self.iters = 0

            def after_train_iter(self, runner):
                if self.every_n_iters(runner, self.every):
                    self.iters += 1

            def after_run(self, runner):
                mark(f'hook:{self.iters}')
    ''',
    'marks.py': '''
        import os

        _seen = set()


        def mark(what):
            """Record (once per process) that a part of the package was used."""
            if what not in _seen:
                _seen.add(what)
                with open(os.environ['MY_PROJECT_MARKS'], 'a') as f:
                    f.write(what + '\\n')
    ''',
}

EXTRA = '''
custom_imports = dict(imports=['my_project.backbone', 'my_project.transforms', 'my_project.loss',
                               'my_project.optimizer', 'my_project.hook'], allow_failed_imports=False)
model['backbone'] = dict(_delete_=True, type='TinyNet')
model['neck']['in_channels'] = [16, 32, 64, 128]
model['bbox_head']['loss_bbox'] = dict(_delete_=True, type='MyLoss', loss_weight=1.0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='MyTransform', delta=5),
    dict(type='Resize', img_scale=(160, 128), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
data['train']['pipeline'] = train_pipeline
optimizer = dict(_delete_=True, type='MyOptimizer', lr=0.005, momentum=0.9, weight_decay=0.0001)
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='MyHook', every=1, priority='LOW')]
evaluation = dict(interval=1, metric='bbox')
'''


def run(script, *args, env, check=True):
    out = subprocess.run([sys.executable, os.path.join(ROOT, script), *map(str, args)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    if check and out.returncode != 0:
        raise AssertionError(f'{script} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}')
    return out


@pytest.fixture
def user_project(tmp_path):
    pkg = tmp_path / 'src' / 'my_project'
    pkg.mkdir(parents=True)
    for name, text in PACKAGE.items():
        (pkg / name).write_text(textwrap.dedent(text))
    marks = tmp_path / 'marks.txt'
    env = {**os.environ, 'MY_PROJECT_MARKS': str(marks), 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': os.pathsep.join([str(tmp_path / 'src'), ROOT])}
    return env, marks


def test_users_2x_package_trains_evaluates_and_tests(tmp_path, shapes_data, user_project):
    env, marks = user_project
    cfg = write_user_config(tmp_path / 'my_cfg.py', shapes_data, epochs=2, extra=EXTRA)
    work = tmp_path / 'work'
    out = run('tools/train.py', cfg, '--work-dir', work, '--seed', 0, env=env)
    seen = marks.read_text().split()
    assert {'backbone', 'transform', 'loss', 'optimizer'} <= set(seen), seen
    iters = int(next(s for s in seen if s.startswith('hook:')).split(':')[1])
    assert iters == 2 * 4  # 8 images, 2 per batch, 2 epochs
    assert 'bbox_mAP' in out.stdout + out.stderr
    logs = [json.loads(line) for line in (work / next(p.name for p in work.iterdir()
                                                    if p.name.endswith('.log.json'))).read_text().splitlines()
            if line.startswith('{') and '"loss_bbox"' in line]
    assert logs and all(0 <= row['loss_bbox'] < 10 for row in logs)
    marks.unlink()
    test = run('tools/test.py', cfg, work / 'epoch_2.pth', '--eval', 'bbox', env=env)
    assert 0 <= bbox_map(test.stdout) <= 1 and 'backbone' in marks.read_text()


def test_num_class_check_hook_stops_a_mismatched_user_config(tmp_path, shapes_data, user_project):
    env, _ = user_project
    cfg = write_user_config(tmp_path / 'bad.py', shapes_data, epochs=1,
                            extra=EXTRA + "model['bbox_head']['num_classes'] = 5\n")
    out = run('tools/train.py', cfg, '--work-dir', tmp_path / 'w', env=env, check=False)
    assert out.returncode != 0
    assert 'num_classes (5) of VFNetHead' in out.stderr and '3 CLASSES of CocoDataset' in out.stderr
