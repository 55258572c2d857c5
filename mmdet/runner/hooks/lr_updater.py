"""Learning-rate policies as pure functions of progress, applied by one hook."""
import math

from .base import HOOKS, Hook


def annealing_cos(start, end, factor):
    """Cosine from ``start`` (factor 0) to ``end`` (factor 1)."""
    return end + 0.5 * (start - end) * (math.cos(math.pi * factor) + 1)


class LrUpdaterHook(Hook):
    """Base: ``get_lr(runner, base_lr)`` gives the regular lr; warmup scales it
    over the first ``warmup_iters`` iterations (linear, constant or exp)."""
    priority = 'VERY_HIGH'

    def __init__(self, by_epoch=True, warmup=None, warmup_iters=0, warmup_ratio=0.1, warmup_by_epoch=False):
        if warmup not in (None, 'constant', 'linear', 'exp'):
            raise ValueError(f"warmup must be None, 'constant', 'linear' or 'exp', got '{warmup}'")
        if warmup is not None and (warmup_iters <= 0 or not 0 < warmup_ratio <= 1.0):
            raise ValueError('warmup needs warmup_iters > 0 and 0 < warmup_ratio <= 1')
        self.by_epoch, self.warmup = by_epoch, warmup
        self.warmup_iters, self.warmup_ratio = warmup_iters, warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        self.base_lr = []

    def get_lr(self, runner, base_lr):
        raise NotImplementedError

    def warmup_lr(self, cur_iter, regular):
        if self.warmup == 'constant':
            return [lr * self.warmup_ratio for lr in regular]
        if self.warmup == 'linear':
            k = (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
            return [lr * (1 - k) for lr in regular]
        k = self.warmup_ratio ** (1 - cur_iter / self.warmup_iters)
        return [lr * k for lr in regular]

    def _set(self, runner, lrs):
        for group, lr in zip(runner.optimizer.param_groups, lrs):
            group['lr'] = lr

    def before_run(self, runner):
        for group in runner.optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])
        self.base_lr = [g['initial_lr'] for g in runner.optimizer.param_groups]
        if self.warmup_by_epoch:
            self.warmup_iters = self.warmup_iters * len(runner.data_loader)

    def before_train_epoch(self, runner):
        if self.by_epoch:
            self.regular_lr = [self.get_lr(runner, lr) for lr in self.base_lr]
            self._set(runner, self.regular_lr)

    def before_train_iter(self, runner):
        cur = runner.iter
        if not self.by_epoch:
            self.regular_lr = [self.get_lr(runner, lr) for lr in self.base_lr]
        if self.warmup is None or cur >= self.warmup_iters:
            if not self.by_epoch or (self.warmup is not None and cur == self.warmup_iters):
                self._set(runner, self.regular_lr)
            return
        self._set(runner, self.warmup_lr(cur, self.regular_lr))


@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    def get_lr(self, runner, base_lr):
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """lr = base * gamma ** (number of ``step`` boundaries passed)."""

    def __init__(self, step, gamma=0.1, min_lr=None, **kwargs):
        if isinstance(step, (list, tuple)):
            if any(s <= 0 for s in step):
                raise ValueError('lr steps must be positive')
        elif not isinstance(step, int) or step <= 0:
            raise ValueError(f'step must be a positive int or a list of them, got {step!r}')
        self.step, self.gamma, self.min_lr = step, gamma, min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress = runner.epoch if self.by_epoch else runner.iter
        if isinstance(self.step, int):
            exp = progress // self.step
        else:
            exp = sum(progress >= s for s in self.step)
        lr = base_lr * self.gamma ** exp
        return max(lr, self.min_lr) if self.min_lr is not None else lr


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(LrUpdaterHook):

    def __init__(self, min_lr=None, min_lr_ratio=None, **kwargs):
        if (min_lr is None) == (min_lr_ratio is None):
            raise ValueError('CosineAnnealing needs exactly one of min_lr and min_lr_ratio')
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress, total = (runner.epoch, runner.max_epochs) if self.by_epoch else (runner.iter, runner.max_iters)
        target = base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else self.min_lr
        return annealing_cos(base_lr, target, progress / total)


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):

    def __init__(self, power=1., min_lr=0., **kwargs):
        self.power, self.min_lr = power, min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress, total = (runner.epoch, runner.max_epochs) if self.by_epoch else (runner.iter, runner.max_iters)
        return (base_lr - self.min_lr) * (1 - progress / total) ** self.power + self.min_lr


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """``cyclic_times`` cycles over the run (per iteration): up from 1x to
    ``target_ratio[0]`` during the first ``step_ratio_up`` of a cycle, then
    cosine down to ``target_ratio[1]``.  ``step_ratio_up=0`` gives one
    decay per cycle (the SWA schedule)."""

    def __init__(self, by_epoch=False, target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4,
                 anneal_strategy='cos', **kwargs):
        if isinstance(target_ratio, (int, float)):
            target_ratio = (target_ratio, target_ratio / 1e5)
        if len(target_ratio) != 2 or not 0 <= step_ratio_up < 1:
            raise ValueError('cyclic lr needs target_ratio=(up, down) and 0 <= step_ratio_up < 1')
        if anneal_strategy not in ('cos', 'linear'):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got '{anneal_strategy}'")
        self.target_ratio, self.cyclic_times = tuple(target_ratio), cyclic_times
        self.step_ratio_up, self.anneal_strategy = step_ratio_up, anneal_strategy
        super().__init__(by_epoch=False, **kwargs)

    def before_run(self, runner):
        super().before_run(runner)
        per_phase = max(runner.max_iters // self.cyclic_times, 1)
        up = int(self.step_ratio_up * per_phase)
        self.lr_phases = [(0, up, per_phase, 1, self.target_ratio[0]),
                          (up, per_phase, per_phase, self.target_ratio[0], self.target_ratio[1])]

    def get_lr(self, runner, base_lr):
        anneal = annealing_cos if self.anneal_strategy == 'cos' else (lambda s, e, f: s + (e - s) * f)
        for start, end, per_phase, r0, r1 in self.lr_phases:
            cur = runner.iter % per_phase
            if start <= cur < end:
                return anneal(base_lr * r0, base_lr * r1, (cur - start) / (end - start))
        return base_lr * self.target_ratio[1]


POLICY_ALIASES = {'step': 'Step', 'cyclic': 'Cyclic', 'cosineannealing': 'CosineAnnealing', 'poly': 'Poly',
                  'fixed': 'Fixed'}


def build_lr_hook(lr_config):
    cfg = dict(lr_config)
    policy = cfg.pop('policy')
    name = POLICY_ALIASES.get(policy.lower(), policy)
    cls = HOOKS.get(f'{name}LrUpdaterHook')
    if cls is None:
        raise KeyError(f"lr_config.policy '{policy}' is not known (step, cyclic, CosineAnnealing, poly, fixed)")
    return cls(**cfg)
