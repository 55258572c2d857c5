"""lr and momentum schedules (mmcv 1.x policies) and auto_scale_lr.

Every schedule is driven over a whole run - by a small stand-in runner, and for a few by the real
runners - and the value of every param group at EVERY iteration is compared with the closed form
written here in plain math (mmcv 1.x's formulas), with each warmup kind on top.
"""
import logging
import math
import warnings

import pytest
import torch
import torch.nn as nn

from mmdet.runner.auto_scale_lr import auto_scale_lr, enable_auto_scale_lr, scaled_lr
from mmdet.runner.hooks.base import Hook
from mmdet.runner.hooks.lr_updater import (CosineAnnealingLrUpdaterHook, CosineRestartLrUpdaterHook,
                                           CyclicLrUpdaterHook, ExpLrUpdaterHook, FixedLrUpdaterHook,
                                           FlatCosineAnnealingLrUpdaterHook, InvLrUpdaterHook,
                                           LinearAnnealingLrUpdaterHook, OneCycleLrUpdaterHook, PolyLrUpdaterHook,
                                           StepLrUpdaterHook, build_lr_hook)
from mmdet.runner.hooks.momentum_updater import (CosineAnnealingMomentumUpdaterHook, CyclicMomentumUpdaterHook,
                                                 LinearAnnealingMomentumUpdaterHook, OneCycleMomentumUpdaterHook,
                                                 StepMomentumUpdaterHook, build_momentum_hook)
from mmdet.utils import Config, InvalidArgumentError

EPOCHS, ITERS = 6, 5          # a run of 6 epochs of 5 iterations: 30 iterations
LRS = (0.1, 0.02)             # two param groups
MOMENTA = (0.9, 0.8)
WARMUP_ITERS, WARMUP_RATIO = 7, 0.2   # 7 iterations: the warmup crosses an epoch boundary
cos, pi = math.cos, math.pi


def cos_between(start, end, f):
    """Cosine from start (f=0) to end (f=1)."""
    return end + 0.5 * (start - end) * (1 + cos(pi * f))


def line_between(start, end, f):
    return start + (end - start) * f


# ------------------------------------------------------------------------------- the stand-in runner
class FakeRunner:
    def __init__(self, optimizer, epochs=EPOCHS, iters=ITERS):
        self.optimizer, self.max_epochs, self.max_iters = optimizer, epochs, epochs * iters
        self.data_loader = range(iters)
        self.epoch = self.iter = self.inner_iter = 0
        self.logger = logging.getLogger('test_schedules')


def sgd(lrs=LRS, momenta=MOMENTA):
    params = [nn.Parameter(torch.zeros(1)) for _ in lrs]
    return torch.optim.SGD([dict(params=[p], lr=lr, momentum=m) for p, lr, m in zip(params, lrs, momenta)],
                           lr=lrs[0])


def drive(hooks, optimizer, read, epochs=EPOCHS, iters=ITERS):
    """Run ``hooks`` through ``epochs`` x ``iters`` training iterations as the epoch-based runner calls
    them; ``read(group)`` at every iteration (after the hooks' before_train_iter), per group."""
    runner = FakeRunner(optimizer, epochs, iters)
    for h in hooks:
        h.before_run(runner)
    seen = []
    for epoch in range(epochs):
        runner.epoch = epoch
        for h in hooks:
            h.before_train_epoch(runner)
        for i in range(iters):
            runner.iter, runner.inner_iter = epoch * iters + i, i
            for h in hooks:
                h.before_train_iter(runner)
            seen.append([read(g) for g in optimizer.param_groups])
            for h in hooks:
                h.after_train_iter(runner)
        for h in hooks:
            h.after_train_epoch(runner)
    return seen


def warmup_factor(kind, n, w, r):
    """mmcv 1.x's warmup at iteration n < w."""
    if kind == 'constant':
        return r
    if kind == 'linear':
        return 1 - (1 - n / w) * (1 - r)
    return r ** (1 - n / w)


# ----------------------------------------------------------------------------------- lr policies
# each case: k (1 per epoch, ITERS per iteration: the unit of `step`/`periods`) ->
#   (lr_config, regular lr as a function of (base lr, progress t, run length T))
def lr_cases():
    return {
        'fixed': (True, lambda k: (dict(policy='fixed'), lambda b, t, T: b)),
        'step_list': (True, lambda k: (dict(policy='step', step=[2 * k, 4 * k]),
                                       lambda b, t, T: b * 0.1 ** ((t >= 2 * k) + (t >= 4 * k)))),
        'step_int_min_lr': (True, lambda k: (dict(policy='Step', step=k, gamma=0.5, min_lr=0.004),
                                             lambda b, t, T: max(b * 0.5 ** (t // k), 0.004))),
        'exp': (True, lambda k: (dict(policy='exp', gamma=0.8 ** (1 / k)),
                                 lambda b, t, T: b * (0.8 ** (1 / k)) ** t)),
        'poly': (True, lambda k: (dict(policy='poly', power=2., min_lr=1e-3),
                                  lambda b, t, T: (b - 1e-3) * (1 - t / T) ** 2 + 1e-3)),
        'inv': (True, lambda k: (dict(policy='inv', gamma=0.5 / k, power=0.75),
                                 lambda b, t, T: b * (1 + 0.5 / k * t) ** -0.75)),
        'cosine_ratio': (True, lambda k: (dict(policy='CosineAnnealing', min_lr_ratio=0.05),
                                          lambda b, t, T: 0.05 * b + 0.5 * (b - 0.05 * b) * (1 + cos(pi * t / T)))),
        'cosine_min_lr': (True, lambda k: (dict(policy='CosineAnnealing', min_lr=1e-3),
                                           lambda b, t, T: 1e-3 + 0.5 * (b - 1e-3) * (1 + cos(pi * t / T)))),
        'linear_annealing': (True, lambda k: (dict(policy='LinearAnnealing', min_lr_ratio=0.1),
                                              lambda b, t, T: b + (0.1 * b - b) * t / T)),
        'flat_cosine': (True, lambda k: (dict(policy='FlatCosineAnnealing', start_percent=0.5, min_lr=1e-4),
                                         lambda b, t, T: b if t < round(0.5 * T) else
                                         1e-4 + 0.5 * (b - 1e-4) * (1 + cos(pi * (t - round(0.5 * T))
                                                                            / (T - round(0.5 * T)))))),
        # periods 2 and 4 (x k), the second restarting at half height: w * b + (1 - w) * target
        'cosine_restart': (True, lambda k: (
            dict(policy='CosineRestart', periods=[2 * k, 4 * k], restart_weights=[1, 0.5], min_lr_ratio=0.1),
            lambda b, t, T: (0.1 * b + 0.5 * (b - 0.1 * b) * (1 + cos(pi * t / (2 * k)))) if t < 2 * k else
            (0.1 * b + 0.5 * 0.5 * (b - 0.1 * b) * (1 + cos(pi * (t - 2 * k) / (4 * k)))))),
        # 2 cycles of 15 iterations: 6 up (x1 -> x10), 9 down (x10 -> x1e-4), cosine
        'cyclic': (False, lambda k: (
            dict(policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=2, step_ratio_up=0.4),
            lambda b, t, T: cos_between(b, 10 * b, (t % 15) / 6) if t % 15 < 6 else
            cos_between(10 * b, 1e-4 * b, (t % 15 - 6) / 9))),
        # 3 cycles of 10: 3 up, 7 down, linear; cycle c's peak 1 + (10 - 1) * 0.5 ** c
        'cyclic_gamma_linear': (False, lambda k: (
            dict(policy='cyclic', target_ratio=(10, 0.1), cyclic_times=3, step_ratio_up=0.3, gamma=0.5,
                 anneal_strategy='linear'),
            lambda b, t, T: line_between(b, b * (1 + 9 * 0.5 ** (t // 10)), (t % 10) / 3) if t % 10 < 3 else
            line_between(b * (1 + 9 * 0.5 ** (t // 10)), 0.1 * b, (t % 10 - 3) / 7))),
        # no rising part (the SWA schedule) and gamma: mmcv moves the END of the fall instead
        'cyclic_swa_gamma': (False, lambda k: (
            dict(policy='cyclic', target_ratio=(1, 0.01), cyclic_times=6, step_ratio_up=0.0, gamma=0.5),
            lambda b, t, T: cos_between(b, b * (1 - 0.5 ** (t // 5) + 0.01 * 0.5 ** (t // 5)), (t % 5) / 5))),
        # one cycle over 30 iterations: up to max_lr until 0.25 * 30 - 1 = 6.5, down to initial / 100 at 29
        'one_cycle': (False, lambda k: (
            dict(policy='OneCycle', max_lr=[0.5, 0.25], pct_start=0.25, div_factor=10, final_div_factor=100),
            lambda b, t, T: cos_between(b, 10 * b, t / 6.5) if t <= 6.5 else
            cos_between(10 * b, b / 100, (t - 6.5) / (29 - 6.5)))),
        # three phases over total_steps=40: up until 11, back down until 22, then to initial / 1e4 at 39
        'one_cycle_three_phase': (False, lambda k: (
            dict(policy='OneCycle', max_lr=0.3, total_steps=40, anneal_strategy='linear', three_phase=True),
            lambda b, t, T: line_between(b, 25 * b, t / 11) if t <= 11 else
            line_between(25 * b, b, (t - 11) / 11) if t <= 22 else line_between(b, b / 1e4, (t - 22) / 17))),
    }


def base_lrs(cfg):
    """The lr each group's schedule starts from: the optimizer's, or OneCycle's max_lr / div_factor."""
    if cfg['policy'] != 'OneCycle':
        return LRS
    peaks = cfg['max_lr'] if isinstance(cfg['max_lr'], list) else [cfg['max_lr']] * len(LRS)
    return [p / cfg.get('div_factor', 25) for p in peaks]


LR_RUNS = [(name, by_epoch, warmup) for name, (epoch_ok, _) in lr_cases().items()
           for by_epoch in ((True, False) if epoch_ok else (False,))
           for warmup in (None, 'linear', 'exp', 'constant')]


@pytest.mark.parametrize('name,by_epoch,warmup', LR_RUNS)
def test_lr_at_every_iteration(name, by_epoch, warmup):
    k = 1 if by_epoch else ITERS
    cfg, regular = lr_cases()[name][1](k)
    cfg = dict(cfg)
    if warmup is not None:
        cfg.update(warmup=warmup, warmup_iters=WARMUP_ITERS, warmup_ratio=WARMUP_RATIO)
    hook = build_lr_hook(cfg, by_epoch=by_epoch)
    assert hook.by_epoch is by_epoch
    seen = drive([hook], sgd(), lambda g: g['lr'])
    T = EPOCHS if by_epoch else EPOCHS * ITERS
    for n, lrs in enumerate(seen):
        t = n // ITERS if by_epoch else n
        for b, lr in zip(base_lrs(cfg), lrs):
            want = regular(b, t, T)
            if warmup is not None and n < WARMUP_ITERS:
                want *= warmup_factor(warmup, n, WARMUP_ITERS, WARMUP_RATIO)
            assert lr == pytest.approx(want, rel=1e-9, abs=1e-15), (name, n, lr, want)


def test_warmup_by_epoch_counts_epochs_of_the_loader():
    # 2 epochs of 5 iterations of linear warmup over a step schedule at epoch 3
    hook = build_lr_hook(dict(policy='step', step=[3], warmup='linear', warmup_iters=2, warmup_ratio=0.1,
                              warmup_by_epoch=True), by_epoch=True)
    seen = drive([hook], sgd(), lambda g: g['lr'])
    for n, lrs in enumerate(seen):
        for b, lr in zip(LRS, lrs):
            want = b * (0.1 if n // ITERS >= 3 else 1)
            if n < 10:
                want *= 1 - (1 - n / 10) * (1 - 0.1)
            assert lr == pytest.approx(want), (n, lr, want)
    assert hook.warmup_iters == 10


def test_schedule_starts_from_initial_lr_on_resume():
    # a resumed optimizer holds initial_lr (saved in its state); the schedule is a function of it, not of
    # the current lr
    opt = sgd()
    for g, b in zip(opt.param_groups, LRS):
        g['initial_lr'], g['lr'] = b, b * 0.001
    hook = build_lr_hook(dict(policy='step', step=[2]), by_epoch=True)
    runner = FakeRunner(opt)
    hook.before_run(runner)
    runner.epoch = 1
    hook.before_train_epoch(runner)
    assert [g['lr'] for g in opt.param_groups] == pytest.approx(list(LRS))


# ----------------------------------------------------------------------------- momentum policies
def momentum_cases():
    return {
        'step': (True, lambda k: (dict(policy='step', step=[2 * k, 4 * k], gamma=0.5, min_momentum=0.3),
                                  lambda m, t, T: max(m * 0.5 ** ((t >= 2 * k) + (t >= 4 * k)), 0.3))),
        'cosine': (True, lambda k: (dict(policy='CosineAnnealing', min_momentum_ratio=0.5),
                                    lambda m, t, T: 0.5 * m + 0.5 * (m - 0.5 * m) * (1 + cos(pi * t / T)))),
        'linear_annealing': (True, lambda k: (dict(policy='LinearAnnealing', min_momentum=0.5),
                                              lambda m, t, T: m + (0.5 - m) * t / T)),
        # 2 cycles of 15: 6 down to 0.85 / 0.95 of the base, 9 back up (cosine)
        'cyclic': (False, lambda k: (
            dict(policy='cyclic', target_ratio=(0.85 / 0.95, 1), cyclic_times=2, step_ratio_up=0.4),
            lambda m, t, T: cos_between(m, m * 0.85 / 0.95, (t % 15) / 6) if t % 15 < 6 else
            cos_between(m * 0.85 / 0.95, m, (t % 15 - 6) / 9))),
        'cyclic_gamma_linear': (False, lambda k: (
            dict(policy='cyclic', target_ratio=(0.5, 1), cyclic_times=3, step_ratio_up=0.5, gamma=0.5,
                 anneal_strategy='linear'),
            lambda m, t, T: line_between(m, m * (1 - 0.5 * 0.5 ** (t // 10)), (t % 10) / 5) if t % 10 < 5 else
            line_between(m * (1 - 0.5 * 0.5 ** (t // 10)), m, (t % 10 - 5) / 5))),
        # the base is ignored: 0.95 -> 0.85 until 0.3 * 30 - 1 = 8, back to 0.95 at 29
        'one_cycle': (False, lambda k: (
            dict(policy='OneCycle', base_momentum=0.85, max_momentum=0.95, pct_start=0.3),
            lambda m, t, T: cos_between(0.95, 0.85, t / 8) if t <= 8 else cos_between(0.85, 0.95, (t - 8) / 21))),
        'one_cycle_three_phase': (False, lambda k: (
            dict(policy='OneCycle', base_momentum=[0.8, 0.7], max_momentum=[0.9, 0.95], pct_start=0.3,
                 three_phase=True, anneal_strategy='linear'),
            None)),  # per group: see below
    }


def one_cycle_three_phase(group, t):
    low, high = [(0.8, 0.9), (0.7, 0.95)][group]
    if t <= 8:
        return high + (low - high) * t / 8
    if t <= 16:
        return low + (high - low) * (t - 8) / 8
    return high


MOMENTUM_RUNS = [(name, by_epoch, warmup) for name, (epoch_ok, _) in momentum_cases().items()
                 for by_epoch in ((True, False) if epoch_ok else (False,))
                 for warmup in (None, 'linear', 'exp', 'constant')]


@pytest.mark.parametrize('name,by_epoch,warmup', MOMENTUM_RUNS)
def test_momentum_at_every_iteration(name, by_epoch, warmup):
    k = 1 if by_epoch else ITERS
    cfg, regular = momentum_cases()[name][1](k)
    cfg = dict(cfg)
    if warmup is not None:
        cfg.update(warmup=warmup, warmup_iters=WARMUP_ITERS, warmup_ratio=0.9)
    hook = build_momentum_hook(cfg, by_epoch=by_epoch)
    assert hook.by_epoch is by_epoch
    seen = drive([hook], sgd(), lambda g: g['momentum'])
    T = EPOCHS if by_epoch else EPOCHS * ITERS
    for n, momenta in enumerate(seen):
        t = n // ITERS if by_epoch else n
        for gi, (m, got) in enumerate(zip(MOMENTA, momenta)):
            want = one_cycle_three_phase(gi, t) if regular is None else regular(m, t, T)
            if warmup is not None and n < WARMUP_ITERS:
                want /= warmup_factor(warmup, n, WARMUP_ITERS, 0.9)  # momentum warmup divides (mmcv 1.x)
            assert got == pytest.approx(want, rel=1e-9), (name, n, got, want)


def test_momentum_of_adam_is_beta1_and_runs_with_the_lr_schedule():
    params = [nn.Parameter(torch.zeros(1)) for _ in range(2)]
    opt = torch.optim.AdamW([dict(params=[params[0]], lr=0.1), dict(params=[params[1]], lr=0.02)],
                            betas=(0.9, 0.999))
    lr_hook = build_lr_hook(dict(policy='OneCycle', max_lr=1.0, pct_start=0.3))
    mom_hook = build_momentum_hook(dict(policy='OneCycle', pct_start=0.3))
    assert (lr_hook.priority, mom_hook.priority) == ('VERY_HIGH', 'HIGH')
    seen = drive([lr_hook, mom_hook], opt, lambda g: (g['lr'], g['betas']))
    for t, groups in enumerate(seen):
        for lr, (beta1, beta2) in groups:
            assert lr == pytest.approx(cos_between(0.04, 1.0, t / 8) if t <= 8 else
                                       cos_between(1.0, 0.04 / 1e4, (t - 8) / 21))
            assert beta1 == pytest.approx(cos_between(0.95, 0.85, t / 8) if t <= 8 else
                                          cos_between(0.85, 0.95, (t - 8) / 21))
            assert beta2 == 0.999
    # mmcv records each group's range in the group
    assert opt.param_groups[0]['base_momentum'] == 0.85 and opt.param_groups[0]['max_momentum'] == 0.95


def test_momentum_needs_an_optimizer_with_momentum():
    opt = torch.optim.Adagrad([nn.Parameter(torch.zeros(1))], lr=0.1)
    hook = build_momentum_hook(dict(policy='CosineAnnealing', min_momentum_ratio=0.5))
    with pytest.raises(KeyError, match='Adagrad.*neither momentum nor betas'):
        hook.before_run(FakeRunner(opt))


# --------------------------------------------------------------------- with the real runners
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def train_step(self, data, optimizer):
        loss = self.fc(data['x']).pow(2).mean()
        return dict(loss=loss, log_vars=dict(loss=loss.item()), num_samples=1)


class Recorder(Hook):
    """Runs after the lr (VERY_HIGH) and momentum (HIGH) hooks: what the step trains with."""
    priority = 'LOW'

    def __init__(self):
        self.seen = []

    def before_train_iter(self, runner):
        self.seen.append([(g['lr'], g['momentum']) for g in runner.optimizer.param_groups])


def loader(n):
    return torch.utils.data.DataLoader([dict(x=torch.ones(1, 2))] * n, batch_size=None)


def test_epoch_based_runner_follows_the_schedules():
    from mmdet.runner import EpochBasedRunner
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = EpochBasedRunner(model, opt, max_epochs=4, logger=logging.getLogger('test_schedules'))
    runner.register_hook(build_lr_hook(dict(policy='step', step=[2, 3], warmup='exp', warmup_iters=1,
                                            warmup_ratio=0.01, warmup_by_epoch=True), by_epoch=True))
    runner.register_hook(build_momentum_hook(dict(policy='CosineAnnealing', min_momentum=0.5), by_epoch=True))
    rec = Recorder()
    runner.register_hook(rec)
    runner.run([loader(3)], [('train', 1)])
    assert len(rec.seen) == 12
    for n, [(lr, momentum)] in enumerate(rec.seen):
        epoch = n // 3
        want = 0.1 * 0.1 ** ((epoch >= 2) + (epoch >= 3))
        if n < 3:  # one epoch of 3 iterations
            want *= 0.01 ** (1 - n / 3)
        assert lr == pytest.approx(want), (n, lr, want)
        assert momentum == pytest.approx(0.5 + 0.5 * (0.9 - 0.5) * (1 + cos(pi * epoch / 4)))


def test_iter_based_runner_follows_the_schedules():
    from mmdet.runner import IterBasedRunner
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = IterBasedRunner(model, opt, max_iters=20, logger=logging.getLogger('test_schedules'))
    runner.register_hook(build_lr_hook(dict(policy='CosineRestart', periods=[8, 12], min_lr=0.0,
                                            warmup='linear', warmup_iters=4, warmup_ratio=0.5), by_epoch=False))
    runner.register_hook(build_momentum_hook(dict(policy='cyclic', cyclic_times=2, step_ratio_up=0.5,
                                                  target_ratio=(0.8, 1)), by_epoch=False))
    rec = Recorder()
    runner.register_hook(rec)
    runner.run([loader(6)], [('train', 1)])
    assert len(rec.seen) == 20
    for t, [(lr, momentum)] in enumerate(rec.seen):
        want = 0.5 * 0.1 * (1 + cos(pi * t / 8)) if t < 8 else 0.5 * 0.1 * (1 + cos(pi * (t - 8) / 12))
        if t < 4:
            want *= 1 - (1 - t / 4) * 0.5
        assert lr == pytest.approx(want, abs=1e-12), (t, lr, want)
        p = t % 10
        want_m = cos_between(0.9, 0.72, p / 5) if p < 5 else cos_between(0.72, 0.9, (p - 5) / 5)
        assert momentum == pytest.approx(want_m), (t, momentum, want_m)


# ------------------------------------------------------------------------------ building, errors
@pytest.mark.parametrize('policy,cls', [
    ('fixed', FixedLrUpdaterHook), ('Fixed', FixedLrUpdaterHook), ('step', StepLrUpdaterHook),
    ('exp', ExpLrUpdaterHook), ('Exp', ExpLrUpdaterHook), ('poly', PolyLrUpdaterHook), ('inv', InvLrUpdaterHook),
    ('CosineAnnealing', CosineAnnealingLrUpdaterHook), ('cosineannealing', CosineAnnealingLrUpdaterHook),
    ('FlatCosineAnnealing', FlatCosineAnnealingLrUpdaterHook), ('CosineRestart', CosineRestartLrUpdaterHook),
    ('cyclic', CyclicLrUpdaterHook), ('Cyclic', CyclicLrUpdaterHook), ('OneCycle', OneCycleLrUpdaterHook),
    ('onecycle', OneCycleLrUpdaterHook), ('LinearAnnealing', LinearAnnealingLrUpdaterHook)])
def test_policy_names_map_to_hooks(policy, cls):
    args = {StepLrUpdaterHook: dict(step=1), ExpLrUpdaterHook: dict(gamma=0.9), InvLrUpdaterHook: dict(gamma=0.1),
            CosineAnnealingLrUpdaterHook: dict(min_lr=0), FlatCosineAnnealingLrUpdaterHook: dict(min_lr=0),
            CosineRestartLrUpdaterHook: dict(periods=[1], min_lr=0), OneCycleLrUpdaterHook: dict(max_lr=0.1),
            LinearAnnealingLrUpdaterHook: dict(min_lr=0)}.get(cls, {})
    assert type(build_lr_hook(dict(policy=policy, **args))) is cls


@pytest.mark.parametrize('policy,cls', [
    ('step', StepMomentumUpdaterHook), ('CosineAnnealing', CosineAnnealingMomentumUpdaterHook),
    ('LinearAnnealing', LinearAnnealingMomentumUpdaterHook), ('cyclic', CyclicMomentumUpdaterHook),
    ('OneCycle', OneCycleMomentumUpdaterHook)])
def test_momentum_policy_names_map_to_hooks(policy, cls):
    args = {StepMomentumUpdaterHook: dict(step=[1]), CosineAnnealingMomentumUpdaterHook: dict(min_momentum=0.5),
            LinearAnnealingMomentumUpdaterHook: dict(min_momentum=0.5)}.get(cls, {})
    assert type(build_momentum_hook(dict(policy=policy, **args))) is cls


def test_by_epoch_default_skips_the_iteration_only_policies():
    assert build_lr_hook(dict(policy='step', step=[1]), by_epoch=True).by_epoch is True
    assert build_lr_hook(dict(policy='step', step=[1]), by_epoch=False).by_epoch is False
    assert build_lr_hook(dict(policy='step', step=[1], by_epoch=False), by_epoch=True).by_epoch is False
    assert build_lr_hook(dict(policy='OneCycle', max_lr=0.1), by_epoch=True).by_epoch is False
    assert build_lr_hook(dict(policy='cyclic'), by_epoch=True).by_epoch is False
    assert build_momentum_hook(dict(policy='cyclic'), by_epoch=True).by_epoch is False
    with pytest.raises(AssertionError, match='by_epoch must be False'):  # an InvalidArgumentError, as 2.x asserts
        build_lr_hook(dict(policy='cyclic', by_epoch=True))
    with pytest.raises(InvalidArgumentError, match='by_epoch must be False'):
        build_momentum_hook(dict(policy='OneCycle', by_epoch=True))


def test_bad_configs_name_what_is_wrong():
    with pytest.raises(KeyError, match="'CosineRestar' is not known; did you mean 'CosineRestart'"):
        build_lr_hook(dict(policy='CosineRestar', periods=[1], min_lr=0))
    with pytest.raises(KeyError, match="needs a 'policy'"):
        build_lr_hook(dict(step=[1]))
    with pytest.raises(TypeError, match=r"StepLrUpdaterHook got unknown key\(s\) 'stpe' \(did you mean 'step'\?\)"):
        build_lr_hook(dict(policy='step', step=[1], stpe=2))
    with pytest.raises(KeyError, match="momentum_config.policy 'poly' is not known"):
        build_momentum_hook(dict(policy='poly'))
    with pytest.raises(InvalidArgumentError, match="warmup must be None, 'constant', 'linear' or 'exp'"):
        build_lr_hook(dict(policy='fixed', warmup='cosine', warmup_iters=5))
    with pytest.raises(InvalidArgumentError, match='positive int warmup_iters'):
        build_lr_hook(dict(policy='fixed', warmup='linear', warmup_iters=0))
    with pytest.raises(InvalidArgumentError, match=r'warmup_ratio must be in \(0, 1\]'):
        build_lr_hook(dict(policy='fixed', warmup='linear', warmup_iters=5, warmup_ratio=0))
    with pytest.raises(InvalidArgumentError, match='exactly one of min_lr and min_lr_ratio'):
        build_lr_hook(dict(policy='CosineAnnealing', min_lr=0.0, min_lr_ratio=0.1))
    with pytest.raises(TypeError, match='step must be an int or a list of ints'):
        build_lr_hook(dict(policy='step', step=2.5))
    with pytest.raises(InvalidArgumentError, match='every entry of step must be a positive int'):
        build_lr_hook(dict(policy='step', step=[8, 0]))
    with pytest.raises(InvalidArgumentError, match='periods .* and restart_weights .* same length'):
        build_lr_hook(dict(policy='CosineRestart', periods=[5, 5], restart_weights=[1], min_lr=0))
    with pytest.raises(InvalidArgumentError, match=r'gamma must be in \(0, 1\]'):
        build_lr_hook(dict(policy='cyclic', gamma=2))
    with pytest.raises(InvalidArgumentError, match="anneal_strategy must be 'cos' or 'linear'"):
        build_lr_hook(dict(policy='OneCycle', max_lr=0.1, anneal_strategy='exp'))
    with pytest.raises(InvalidArgumentError, match=r'start_percent must be a number in \[0, 1\]'):
        build_lr_hook(dict(policy='FlatCosineAnnealing', start_percent=1.5, min_lr=0))


def test_run_length_errors_come_at_the_start():
    hook = build_lr_hook(dict(policy='OneCycle', max_lr=0.1, total_steps=20))
    with pytest.raises(InvalidArgumentError, match='total_steps=20 is less than the 30 iterations'):
        hook.before_run(FakeRunner(sgd()))
    hook = build_lr_hook(dict(policy='CosineRestart', periods=[2, 3], min_lr=0), by_epoch=True)
    with pytest.raises(InvalidArgumentError, match=r'periods \[2, 3\] cover 5 epochs but the run has 6'):
        hook.before_run(FakeRunner(sgd()))
    hook = build_lr_hook(dict(policy='OneCycle', max_lr=[0.1, 0.2, 0.3]))
    with pytest.raises(InvalidArgumentError, match='expected a number or 2 values'):
        hook.before_run(FakeRunner(sgd()))


# --------------------------------------------------------------------------------- auto_scale_lr
class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def scale_cfg(**auto):
    return Config(dict(optimizer=dict(type='SGD', lr=0.01), data=dict(samples_per_gpu=2),
                       auto_scale_lr=dict(enable=True, base_batch_size=16, **auto)))


@pytest.fixture
def logger():
    log = logging.getLogger('test_schedules.auto_scale_lr')
    handler = ListHandler()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.lines = handler.lines
    yield log
    log.removeHandler(handler)


@pytest.mark.parametrize('world_size,samples,lr', [(8, 2, 0.01), (4, 2, 0.005), (1, 2, 0.00125), (2, 16, 0.02)])
def test_auto_scale_lr_is_the_linear_rule(logger, world_size, samples, lr):
    cfg = scale_cfg()
    cfg.data.samples_per_gpu = samples
    assert auto_scale_lr(cfg, True, logger, world_size=world_size) == pytest.approx(lr)
    assert cfg.optimizer.lr == pytest.approx(lr)
    assert f'Training with {world_size} GPU(s) with {samples} samples per GPU. ' \
           f'The total batch size is {world_size * samples}.' in logger.lines
    if world_size * samples != 16:
        assert any(f'scaled from 0.01 to {lr}' in line for line in logger.lines), logger.lines
    assert scaled_lr(0.02, 4, 16) == pytest.approx(0.005)


def test_auto_scale_lr_reads_the_run(logger, monkeypatch):
    import mmdet.runner.auto_scale_lr as module
    cfg = scale_cfg()
    auto_scale_lr(cfg, False, logger)  # one process without a launcher: 1 x 2 images
    assert cfg.optimizer.lr == pytest.approx(0.01 * 2 / 16)
    monkeypatch.setattr(module, 'get_dist_info', lambda: (0, 4))
    cfg = scale_cfg()
    cfg.data.train_dataloader = dict(samples_per_gpu=8)  # 2.x's later per-loader form wins
    auto_scale_lr(cfg, True, logger)
    assert cfg.optimizer.lr == pytest.approx(0.01 * 4 * 8 / 16)
    cfg = scale_cfg()
    auto_scale_lr(cfg, True, logger, samples_per_gpu=1)  # what the train loader really uses
    assert cfg.optimizer.lr == pytest.approx(0.01 * 4 / 16)


def test_auto_scale_lr_off_and_bad_settings(logger):
    cfg = scale_cfg()
    cfg.auto_scale_lr.enable = False
    assert auto_scale_lr(cfg, False, logger) is None and cfg.optimizer.lr == 0.01
    assert 'Automatic scaling of learning rate (LR) has been disabled.' in logger.lines
    cfg = Config(dict(optimizer=dict(lr=0.01), data=dict(samples_per_gpu=2)))
    assert auto_scale_lr(cfg, False, logger) is None and cfg.optimizer.lr == 0.01
    cfg = Config(dict(optimizer=dict(lr=0.01), data=dict(samples_per_gpu=2), auto_scale_lr=dict(enable=True)))
    with pytest.raises(KeyError, match='needs auto_scale_lr.base_batch_size'):
        auto_scale_lr(cfg, False, logger)
    cfg = scale_cfg()
    cfg.auto_scale_lr.base_batch_size = 0
    with pytest.raises(InvalidArgumentError, match='base_batch_size must be a positive int, got 0'):
        auto_scale_lr(cfg, False, logger)


def test_auto_scale_lr_flag():
    cfg = scale_cfg()
    cfg.auto_scale_lr.enable = False
    assert enable_auto_scale_lr(cfg) is True and cfg.auto_scale_lr.enable is True
    cfg = Config(dict(optimizer=dict(lr=0.01), data=dict(samples_per_gpu=2)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert enable_auto_scale_lr(cfg) is False
    assert any('auto_scale_lr = dict(enable=True, base_batch_size=16)' in str(w.message) for w in caught)
    assert 'auto_scale_lr' not in cfg


# ------------------------------------------------------------------------------------- preview
def test_preview_is_what_the_vfnet_1x_schedule_trains_with():
    from mmdet.runner.schedule_preview import preview_schedule
    lr_config = dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.1, step=[8, 11])
    rows = preview_schedule(lr_config, dict(policy='step', step=[11], gamma=0.5), max_epochs=12,
                            iters_per_epoch=100, lr=0.01, momentum=0.9)
    assert len(rows) == 1200
    for n, (epoch, it, lr, momentum) in enumerate(rows):
        assert (epoch, it) == (n // 100, n)
        want = 0.01 * 0.1 ** ((epoch >= 8) + (epoch >= 11))
        if n < 500:
            want *= 1 - (1 - n / 500) * 0.9
        assert lr == pytest.approx(want), (n, lr, want)
        assert momentum == pytest.approx(0.9 * (0.5 if epoch >= 11 else 1))


@pytest.mark.parametrize('three_phase', [False, True])
def test_one_cycle_matches_torch_one_cycle_lr(three_phase):
    # mmcv 1.x's OneCycle follows torch's OneCycleLR: an independent reference for both hooks
    params = [nn.Parameter(torch.zeros(1))]
    ref_opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.6, total_steps=EPOCHS * ITERS, pct_start=0.4,
                                              div_factor=20, final_div_factor=50, three_phase=three_phase,
                                              base_momentum=0.8, max_momentum=0.92)
    want = []
    for _ in range(EPOCHS * ITERS):
        want.append((ref_opt.param_groups[0]['lr'], ref_opt.param_groups[0]['momentum']))
        ref_opt.step()
        ref.step()
    hooks = [build_lr_hook(dict(policy='OneCycle', max_lr=0.6, pct_start=0.4, div_factor=20, final_div_factor=50,
                                three_phase=three_phase)),
             build_momentum_hook(dict(policy='OneCycle', base_momentum=0.8, max_momentum=0.92, pct_start=0.4,
                                      three_phase=three_phase))]
    seen = drive(hooks, torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9),
                 lambda g: (g['lr'], g['momentum']))
    for t, ([got], w) in enumerate(zip(seen, want)):
        assert got == pytest.approx(w, rel=1e-9), (t, got, w)


def test_mmcv_style_policy_overriding_get_warmup_lr_and_get_regular_lr():
    """A policy written for mmcv 1.x (as 2.28's YOLOXLrUpdaterHook): ``get_warmup_lr`` / ``get_regular_lr``
    overrides are what the schedule runs, calling ``super()`` works, and ``_set_lr`` writes the rates."""
    class Halved(FixedLrUpdaterHook):
        def get_regular_lr(self, runner):
            return [lr / 2 for lr in super().get_regular_lr(runner)]

        def get_warmup_lr(self, cur_iters):  # quadratic, on the regular rates
            return [lr * ((cur_iters + 1) / self.warmup_iters) ** 2 for lr in self.regular_lr]

    seen = drive([Halved(by_epoch=False, warmup='linear', warmup_iters=4)], sgd(), lambda g: g['lr'])
    for t, lrs in enumerate(seen):
        f = ((t + 1) / 4) ** 2 if t < 4 else 1.0
        assert lrs == pytest.approx([base / 2 * f for base in LRS]), t
    opt = sgd()
    hook = FixedLrUpdaterHook(by_epoch=False)
    hook._set_lr(FakeRunner(opt), [0.5, 0.25])
    assert [g['lr'] for g in opt.param_groups] == [0.5, 0.25]
