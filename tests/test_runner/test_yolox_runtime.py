"""MMDetection 2.x's own runtime hooks (2.28 ``mmdet/core/hook``): the YOLOX lr policy at every iteration,
YOLOXModeSwitchHook on a MultiImageMixDataset (in this process and in persistent loader workers),
SyncNormHook, CheckInvalidLossHook, SetEpochInfoHook, MemoryProfilerHook, each built from its 2.x config.
"""
import logging
import math
import sys
import types

import pytest
import torch
import torch.nn as nn

from mmdet.datasets.multi_image_mix import MultiImageMixDataset
from mmdet.runner import EpochBasedRunner, preview_schedule, register_config_hooks
from mmdet.runner.hooks import HOOKS, NonFiniteLossError, build_lr_hook
from mmdet.runner.hooks import yolox as yolox_hooks
from mmdet.runner.hooks.base import Hook
from mmdet.runner.hooks.yolox import (CheckInvalidLossHook, MemoryProfilerHook, SetEpochInfoHook, SyncNormHook,
                                      YOLOXLrUpdaterHook, YOLOXModeSwitchHook)
from mmdet.utils import InvalidArgumentError, build_from_cfg
from mmdet.utils import dist as dist_utils

LOG = logging.getLogger('test_yolox_runtime')
EPOCHS, ITERS, LAST = 6, 4, 2   # 24 iterations; the last 2 epochs at min_lr
LRS = (0.01, 0.004)


def yolox_lr(base, it, warmup_iters, warmup_ratio, last_iters, total, target):
    """2.28's YOLOXLrUpdaterHook, written out: squared warmup from the base lr, cosine, constant."""
    if it < warmup_iters:
        return base * warmup_ratio * ((it + 1) / warmup_iters) ** 2
    p = it + 1
    if p >= total - last_iters:
        return target
    f = (p - warmup_iters) / (total - warmup_iters - last_iters)
    return target + 0.5 * (base - target) * (1 + math.cos(math.pi * f))


class FakeRunner:
    def __init__(self, optimizer=None, epochs=EPOCHS, iters=ITERS, model=None, data_loader=None):
        self.optimizer, self.max_epochs, self.max_iters = optimizer, epochs, epochs * iters
        self.data_loader = range(iters) if data_loader is None else data_loader
        self.epoch = self.iter = self.inner_iter = 0
        self.model, self.outputs, self.logger = model, {}, LOG


def sgd(lrs=LRS):
    return torch.optim.SGD([dict(params=[nn.Parameter(torch.zeros(1))], lr=lr) for lr in lrs], lr=lrs[0])


def drive_lr(hook, epochs=EPOCHS, iters=ITERS):
    opt = sgd()
    runner = FakeRunner(opt, epochs, iters)
    hook.before_run(runner)
    seen = []
    for epoch in range(epochs):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        for i in range(iters):
            runner.iter, runner.inner_iter = epoch * iters + i, i
            hook.before_train_iter(runner)
            seen.append([g['lr'] for g in opt.param_groups])
        hook.after_train_epoch(runner)
    return seen


# ------------------------------------------------------------------------------------------- lr
@pytest.mark.parametrize('warmup,ratio,target', [('exp', 1, dict(min_lr_ratio=0.05)),
                                                  ('linear', 0.5, dict(min_lr_ratio=0.05)),
                                                  ('exp', 1, dict(min_lr=1e-4))])
def test_yolox_lr_at_every_iteration(warmup, ratio, target):
    cfg = dict(policy='YOLOX', warmup=warmup, by_epoch=False, warmup_by_epoch=True, warmup_ratio=ratio,
               warmup_iters=1, num_last_epochs=LAST, **target)
    hook = build_lr_hook(cfg, by_epoch=True)
    assert type(hook) is YOLOXLrUpdaterHook
    seen = drive_lr(hook)
    assert len(seen) == EPOCHS * ITERS
    for it, lrs in enumerate(seen):
        for base, lr in zip(LRS, lrs):
            want = yolox_lr(base, it, ITERS, ratio, LAST * ITERS, EPOCHS * ITERS,
                            base * target['min_lr_ratio'] if 'min_lr_ratio' in target else target['min_lr'])
            assert lr == pytest.approx(want, rel=1e-12, abs=1e-15), (it, lr, want)
    # the shape: warmup ends at the base lr, the cosine falls, the last iterations are constant
    first = [lrs[0] for lrs in seen]
    assert first[ITERS - 1] == pytest.approx(LRS[0] * ratio)
    assert all(a > b for a, b in zip(first[ITERS:-LAST * ITERS - 1], first[ITERS + 1:-LAST * ITERS]))
    assert len(set(first[-LAST * ITERS - 1:])) == 1


def test_yolox_lr_the_2_28_config_in_preview():
    cfg = dict(policy='YOLOX', warmup='exp', by_epoch=False, warmup_by_epoch=True, warmup_ratio=1,
               warmup_iters=5, num_last_epochs=15, min_lr_ratio=0.05)
    rows = preview_schedule(cfg, max_epochs=300, iters_per_epoch=2, lr=0.01, by_epoch=True)
    lrs = [row[2] for row in rows]
    for it in (0, 3, 9, 10, 300, 569, 570, 599):
        assert lrs[it] == pytest.approx(yolox_lr(0.01, it, 10, 1, 30, 600, 0.0005)), it
    assert lrs[-31:] == [pytest.approx(0.0005)] * 31


def test_yolox_lr_bad_settings():
    with pytest.raises(InvalidArgumentError, match='by_epoch must be False'):
        build_lr_hook(dict(policy='YOLOX', by_epoch=True, num_last_epochs=1, min_lr_ratio=0.05))
    with pytest.raises(InvalidArgumentError, match='exactly one of min_lr and min_lr_ratio'):
        build_lr_hook(dict(policy='YOLOX', num_last_epochs=1))
    with pytest.raises(InvalidArgumentError, match='num_last_epochs'):
        YOLOXLrUpdaterHook(num_last_epochs=-1, min_lr=0.)
    hook = YOLOXLrUpdaterHook(num_last_epochs=5, min_lr_ratio=0.05, warmup='exp', warmup_iters=1,
                              warmup_by_epoch=True)
    with pytest.raises(InvalidArgumentError, match='leave none of the 24 iterations'):
        drive_lr(hook)


# --------------------------------------------------------------------------- YOLOX mode switch
class Step:
    """A pipeline step that records its type name in the sample."""

    def __call__(self, results):
        results = dict(results)
        results['applied'] = results['applied'] + [type(self).__name__]
        return results


class Mosaic(Step):
    pass


class RandomAffine(Step):
    pass


class MixUp(Step):
    pass


class Resize(Step):
    pass


class Samples:
    CLASSES = ('a',)

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(idx=i, applied=[])


def mix_dataset():
    return MultiImageMixDataset(Samples(), [Mosaic(), RandomAffine(), MixUp(), Resize()])


def collate_applied(batch):
    return [tuple(s['applied']) for s in batch]


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.use_l1 = False


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.bbox_head = Head()


ALL = ('Mosaic', 'RandomAffine', 'MixUp', 'Resize')


def run_mode_switch(loader, model, epochs=EPOCHS, start=0, hook=None):
    """Epochs as the epoch-based runner runs them: before_train_epoch, then a pass over the loader."""
    hook = hook or build_from_cfg(dict(type='YOLOXModeSwitchHook', num_last_epochs=LAST), HOOKS)
    runner = FakeRunner(epochs=epochs, model=model, data_loader=loader)
    seen = []
    for epoch in range(start, epochs):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        steps = {s for batch in loader for s in batch}
        assert len(steps) == 1
        seen.append((steps.pop(), yolox_hooks.bare_model(model).bbox_head.use_l1))
    return seen


def test_mode_switch_skips_the_mixing_and_turns_on_l1():
    loader = torch.utils.data.DataLoader(mix_dataset(), batch_size=2, collate_fn=collate_applied)
    model = Detector()
    seen = run_mode_switch(loader, nn.DataParallel(model))
    # 2.x: epoch + 1 == max_epochs - num_last_epochs, i.e. the 0-based epoch 3 of 6: 3 epochs without
    assert seen == [(ALL, False)] * 3 + [(('Resize',), True)] * 3


def test_mode_switch_reaches_persistent_workers():
    loader = torch.utils.data.DataLoader(mix_dataset(), batch_size=2, collate_fn=collate_applied,
                                         num_workers=1, persistent_workers=True,
                                         multiprocessing_context='fork')
    iterators = []

    class Watch(YOLOXModeSwitchHook):
        def before_train_epoch(self, runner):
            super().before_train_epoch(runner)
            iterators.append(loader._iterator)

    seen = run_mode_switch(loader, Detector(), epochs=4, hook=Watch(num_last_epochs=1))
    assert seen == [(ALL, False)] * 2 + [(('Resize',), True)] * 2
    # the workers are kept between epochs, except at the switch: new ones there
    assert iterators[0] is None and iterators[1] is not None and iterators[2] is None
    assert iterators[3] is not None and iterators[3] is not iterators[1]
    loader._iterator._shutdown_workers()


def test_persistent_workers_keep_their_dataset_without_the_restart():
    """Why the hook restarts them: a persistent worker's copy of the dataset misses the update."""
    loader = torch.utils.data.DataLoader(mix_dataset(), batch_size=2, collate_fn=collate_applied,
                                         num_workers=1, persistent_workers=True,
                                         multiprocessing_context='fork')

    class NoRestart(YOLOXModeSwitchHook):
        @staticmethod
        def _restart_workers(loader):
            pass

    seen = run_mode_switch(loader, Detector(), epochs=3, hook=NoRestart(num_last_epochs=1))
    assert [steps for steps, _ in seen] == [ALL] * 3
    assert loader.dataset._skip_type_keys == ['Mosaic', 'RandomAffine', 'MixUp']  # in this process only
    loader._iterator._shutdown_workers()


def test_mode_switch_after_a_resume_and_without_use_l1():
    loader = torch.utils.data.DataLoader(mix_dataset(), batch_size=4, collate_fn=collate_applied)
    model = Detector()
    # resumed at epoch 4 (past the switch at epoch 3): the first epoch switches
    assert run_mode_switch(loader, model, start=4) == [(('Resize',), True)] * 2
    # a head without use_l1 gets none
    plain = nn.Module()
    plain.bbox_head = nn.Module()
    runner = FakeRunner(model=plain, data_loader=torch.utils.data.DataLoader(mix_dataset()))
    runner.epoch = 3
    YOLOXModeSwitchHook(num_last_epochs=LAST).before_train_epoch(runner)
    assert not hasattr(plain.bbox_head, 'use_l1')
    assert runner.data_loader.dataset._skip_type_keys == ['Mosaic', 'RandomAffine', 'MixUp']
    # a dataset that cannot skip transforms is named
    runner = FakeRunner(model=model, data_loader=torch.utils.data.DataLoader(Samples()))
    runner.epoch = 3
    with pytest.raises(AttributeError, match='MultiImageMixDataset'):
        YOLOXModeSwitchHook(num_last_epochs=LAST).before_train_epoch(runner)


# ------------------------------------------------------------------------------------ sync norm
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1)
        self.bn = nn.BatchNorm2d(2)
        self.block = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))


def test_sync_norm_is_a_no_op_in_one_process(monkeypatch):
    net = Net()
    net.bn.running_mean.fill_(3.)
    before = {k: v.clone() for k, v in net.state_dict().items()}

    def no_collective(*args, **kwargs):
        raise AssertionError('no all_reduce in a single process')

    monkeypatch.setattr(dist_utils.dist, 'all_reduce', no_collective)
    hook = build_from_cfg(dict(type='SyncNormHook', num_last_epochs=LAST, interval=1), HOOKS)
    runner = FakeRunner(model=net)
    for epoch in range(EPOCHS):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        hook.after_train_epoch(runner)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_sync_norm_averages_running_stats_over_ranks(monkeypatch):
    """Two ranks, the other one's statistics given: the buffers become the mean, at the right epochs."""
    net = Net()
    other = {'bn.running_mean': torch.tensor([1., 3.]), 'bn.running_var': torch.tensor([2., 4.]),
             'block.1.running_mean': torch.tensor([5., 6., 7.]), 'block.1.running_var': torch.tensor([1., 1., 1.])}
    calls = []

    def all_reduce(flat, op):
        calls.append(epoch)
        mine = yolox_hooks.norm_buffers(net)
        assert list(mine) == list(other)  # running mean and var of each norm layer, not num_batches_tracked
        flat += torch.cat([other[k] for k in mine])

    monkeypatch.setattr(dist_utils, 'is_dist', lambda: True)  # a process group of two ranks
    monkeypatch.setattr(dist_utils.dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(dist_utils.dist, 'all_reduce', all_reduce)
    hook = SyncNormHook(num_last_epochs=2, interval=3)
    runner = FakeRunner(model=nn.DataParallel(net), epochs=8)
    for epoch in range(8):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        if epoch == 2:
            mine = {k: v.clone() for k, v in yolox_hooks.norm_buffers(net).items()}
        hook.after_train_epoch(runner)
        if epoch == 2:
            for k, v in yolox_hooks.norm_buffers(net).items():
                assert torch.allclose(v, (mine[k] + other[k]) / 2), k
    # every 3rd epoch, then each of the last num_last_epochs + 1 (2.x sets interval=1 at epoch 8 - 2 - 1)
    assert calls == [2, 5, 6, 7]
    assert net.bn.num_batches_tracked.dtype == torch.long


# ---------------------------------------------------------------------------- the other hooks
def test_check_invalid_loss_hook():
    hook = build_from_cfg(dict(type='CheckInvalidLossHook', interval=2), HOOKS)
    assert isinstance(hook, CheckInvalidLossHook)
    runner = FakeRunner()
    runner.outputs = dict(loss=torch.tensor(float('nan')))
    runner.iter = 0
    hook.after_train_iter(runner)  # not a checking iteration
    runner.iter = 1
    with pytest.raises(NonFiniteLossError, match='infinite or NaN'):
        hook.after_train_iter(runner)
    runner.outputs = dict(loss=torch.tensor(float('inf')))
    with pytest.raises(FloatingPointError):
        hook.after_train_iter(runner)
    runner.outputs = dict(loss=torch.tensor(0.5))
    hook.after_train_iter(runner)


def test_set_epoch_info_hook(caplog):
    class Tood(nn.Module):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

    model = Tood()
    hook = build_from_cfg(dict(type='SetEpochInfoHook'), HOOKS)
    assert isinstance(hook, SetEpochInfoHook)
    runner = FakeRunner(model=nn.DataParallel(model))
    for epoch in range(3):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
    assert model.epochs == [0, 1, 2]
    runner.model = nn.Linear(1, 1)
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        hook.before_train_epoch(runner)
        hook.before_train_epoch(runner)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count('SetEpochInfoHook: Linear has no set_epoch; nothing to set') == 1


def fake_psutil():
    mb = 1024 * 1024
    mod = types.ModuleType('psutil')
    mod.virtual_memory = lambda: types.SimpleNamespace(available=1000 * mb, used=24 * mb, percent=2.4)
    mod.swap_memory = lambda: types.SimpleNamespace(total=10 * mb, used=3 * mb, percent=30.0)
    mod.Process = lambda: types.SimpleNamespace(memory_info=lambda: types.SimpleNamespace(rss=77 * mb))
    return mod


def test_memory_profiler_hook_logs(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, 'psutil', fake_psutil())
    hook = build_from_cfg(dict(type='MemoryProfilerHook', interval=2), HOOKS)
    runner = FakeRunner()
    with caplog.at_level(logging.INFO, logger=LOG.name):
        for it in range(4):
            runner.iter = it
            hook.after_train_iter(runner)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ['Memory information available_memory: 1000 MB, used_memory: 24 MB, memory_utilization: '
                     '2.4 %, available_swap_memory: 7 MB, used_swap_memory: 3 MB, swap_memory_utilization: '
                     '30.0 %, current_process_memory: 77 MB'] * 2


def test_memory_profiler_hook_without_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, 'psutil', None)  # import psutil raises ImportError
    with pytest.raises(ImportError, match='pip install psutil'):
        MemoryProfilerHook()


def test_memory_profiler_hook_with_the_real_psutil(caplog):
    pytest.importorskip('psutil')
    runner = FakeRunner()
    with caplog.at_level(logging.INFO, logger=LOG.name):
        MemoryProfilerHook(interval=1).after_train_iter(runner)
    assert 'current_process_memory' in caplog.records[-1].getMessage()


# ------------------------------------------------------------------------------- the 2.x configs
def test_the_2_28_configs_build_and_run_in_the_runner():
    """2.28 yolox_s's lr_config and custom_hooks (+ SSD's and TOOD's hooks) through register_config_hooks,
    trained by the real EpochBasedRunner: the lr each step sees and the switch of the data and the head."""

    class Yolo(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)
            self.bbox_head = Head()
            self.epochs = []

        def set_epoch(self, epoch):
            self.epochs.append(epoch)

        def train_step(self, data, optimizer):
            loss = self.fc(torch.ones(1, 1)).pow(2).mean()
            seen.append((optimizer.param_groups[0]['lr'], tuple(data[0]), self.bbox_head.use_l1))
            return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=1)

    seen = []
    model = Yolo()
    runner = EpochBasedRunner(model, torch.optim.SGD(model.parameters(), lr=0.01), max_epochs=EPOCHS, logger=LOG)
    lr_config = dict(policy='YOLOX', warmup='exp', by_epoch=False, warmup_by_epoch=True, warmup_ratio=1,
                     warmup_iters=1, num_last_epochs=LAST, min_lr_ratio=0.05)
    custom_hooks = [dict(type='YOLOXModeSwitchHook', num_last_epochs=LAST, priority=48),
                    dict(type='SyncNormHook', num_last_epochs=LAST, interval=2, priority=48),
                    dict(type='CheckInvalidLossHook', interval=1),
                    dict(type='SetEpochInfoHook')]
    register_config_hooks(runner, lr_config, custom_hooks=custom_hooks, by_epoch=True)
    names = [type(h).__name__ for h in runner.hooks]
    for name in ('YOLOXLrUpdaterHook', 'YOLOXModeSwitchHook', 'SyncNormHook', 'CheckInvalidLossHook',
                 'SetEpochInfoHook'):
        assert name in names
    assert [h.priority for h in runner.hooks if isinstance(h, (YOLOXModeSwitchHook, SyncNormHook))] == [48, 48]
    loader = torch.utils.data.DataLoader(mix_dataset(), batch_size=1, collate_fn=collate_applied)
    runner.run([loader], [('train', 1)])
    assert len(seen) == EPOCHS * ITERS
    for it, (lr, steps, use_l1) in enumerate(seen):
        assert lr == pytest.approx(yolox_lr(0.01, it, ITERS, 1, LAST * ITERS, EPOCHS * ITERS, 0.0005)), it
        switched = it // ITERS >= EPOCHS - LAST - 1
        assert steps == (('Resize',) if switched else ALL) and use_l1 == switched, it
    assert model.epochs == list(range(EPOCHS))


def test_registered_under_their_2x_names():
    for name in ('YOLOXLrUpdaterHook', 'YOLOXModeSwitchHook', 'SyncNormHook', 'CheckInvalidLossHook',
                 'SetEpochInfoHook', 'MemoryProfilerHook'):
        assert HOOKS.get(name) is getattr(yolox_hooks, name)
        assert issubclass(HOOKS.get(name), Hook)
