"""Momentum schedules: mmcv 1.x's momentum policies, with mmcv 1.x's numbers.

``momentum_config = dict(policy='cyclic', ...)`` builds ``CyclicMomentumUpdaterHook``
(:func:`build_momentum_hook`).  The momentum of a param group is its ``momentum`` (SGD, RMSprop) or the
first of its ``betas`` (Adam, AdamW).  A policy's ``get_momentum(runner, base_momentum)`` gives the regular
value; the timing is :class:`ScheduledParamHook`'s, and a warmup *divides* the momentum by the warmup
factor, as in mmcv 1.x (so ``warmup_ratio=0.9`` starts a warmup at ``momentum / 0.9``).  The hook runs
after the lr hook (priority HIGH), as mmcv registers it.
"""
import numbers

from mmdet.utils import InvalidArgumentError

from .base import HOOKS
from .schedule import (ScheduledParamHook, anneal_phases, annealer, annealing_cos, annealing_linear,
                       build_schedule_hook, check_cyclic, check_fraction, check_step, cyclic_period, cyclic_value,
                       one_cycle_ends, one_target, per_group, step_count)


def momentum_key(group, optimizer_name='the optimizer'):
    """'momentum' or 'betas': where a param group keeps its momentum."""
    if 'momentum' in group:
        return 'momentum'
    if 'betas' in group:
        return 'betas'
    raise KeyError(f'momentum_config: the param groups of {optimizer_name} have neither momentum nor betas '
                   f'(keys: {sorted(k for k in group if k != "params")}); use an optimizer with momentum '
                   '(SGD, Adam, ...) or drop momentum_config')


def get_group_momentum(group):
    return group['momentum'] if momentum_key(group) == 'momentum' else group['betas'][0]


def set_group_momentum(group, value):
    if momentum_key(group) == 'momentum':
        group['momentum'] = value
    else:
        group['betas'] = (value, *group['betas'][1:])


class MomentumUpdaterHook(ScheduledParamHook):
    """Base of the momentum policies: ``base_momentum`` is a group's ``initial_momentum`` (set from its
    momentum at the first ``before_run``); the warmup divides by :meth:`warmup_factor` (mmcv 1.x).
    Arguments: :class:`ScheduledParamHook` (``warmup_ratio`` defaults to 0.9 here)."""
    priority = 'HIGH'

    def __init__(self, by_epoch=True, warmup=None, warmup_iters=0, warmup_ratio=0.9, warmup_by_epoch=False):
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_momentum(self, runner, base_momentum):
        raise NotImplementedError

    def value_at(self, runner, base):
        return self.get_momentum(runner, base)

    def before_run(self, runner):
        for group in runner.optimizer.param_groups:
            momentum_key(group, type(runner.optimizer).__name__)
        super().before_run(runner)

    def read_base(self, group):
        group.setdefault('initial_momentum', get_group_momentum(group))
        return group['initial_momentum']

    def write(self, group, value):
        set_group_momentum(group, value)

    def warm(self, value, factor):
        return value / factor

    # mmcv 1.x names
    base_momentum = property(lambda self: self.base_values, lambda self, v: setattr(self, 'base_values', v))
    regular_momentum = property(lambda self: self.regular_values,
                                lambda self, v: setattr(self, 'regular_values', v))

    def get_regular_momentum(self, runner):
        return self.regular(runner)

    def get_warmup_momentum(self, cur_iters):
        return self.warmed(cur_iters)


@HOOKS.register_module()
class StepMomentumUpdaterHook(MomentumUpdaterHook):
    """``momentum = max(base * gamma ** n, min_momentum)``, ``n`` the decays so far.

    Args:
        step (int | list[int]): decay every ``step`` epochs/iterations, or at each listed one.
        gamma (float): the decay factor (0.5, as mmcv).
        min_momentum (float | None): the floor (None: none).
    """

    def __init__(self, step, gamma=0.5, min_momentum=None, **kwargs):
        self.step = check_step(step, type(self).__name__)
        self.gamma, self.min_momentum = gamma, min_momentum
        super().__init__(**kwargs)

    def get_momentum(self, runner, base_momentum):
        momentum = base_momentum * self.gamma ** step_count(self.progress(runner)[0], self.step)
        return max(momentum, self.min_momentum) if self.min_momentum is not None else momentum


class _AnnealToTarget(MomentumUpdaterHook):
    """Policies ending at ``min_momentum`` or ``base * min_momentum_ratio`` (exactly one given)."""

    def __init__(self, min_momentum=None, min_momentum_ratio=None, **kwargs):
        one_target(min_momentum, min_momentum_ratio, ('min_momentum', 'min_momentum_ratio'), type(self).__name__)
        self.min_momentum, self.min_momentum_ratio = min_momentum, min_momentum_ratio
        super().__init__(**kwargs)

    def target(self, base):
        return base * self.min_momentum_ratio if self.min_momentum_ratio is not None else self.min_momentum


@HOOKS.register_module()
class CosineAnnealingMomentumUpdaterHook(_AnnealToTarget):
    """Cosine from the base momentum to the target over the run."""

    def get_momentum(self, runner, base_momentum):
        progress, total = self.progress(runner)
        return annealing_cos(base_momentum, self.target(base_momentum), progress / total)


@HOOKS.register_module()
class LinearAnnealingMomentumUpdaterHook(_AnnealToTarget):
    """A straight line from the base momentum to the target over the run (mmcv >= 1.6)."""

    def get_momentum(self, runner, base_momentum):
        progress, total = self.progress(runner)
        return annealing_linear(base_momentum, self.target(base_momentum), progress / total)


@HOOKS.register_module()
class CyclicMomentumUpdaterHook(MomentumUpdaterHook):
    """The cyclic schedule of :class:`~.lr_updater.CyclicLrUpdaterHook` for momentum (usually with it, its
    ``target_ratio`` going the other way: momentum falls while the lr rises).

    Args:
        target_ratio (float | tuple): ``(up, down)`` as multiples of the base momentum; default
            ``(0.85 / 0.95, 1)``: from 0.95 down to 0.85 and back for a base of 0.95.
        cyclic_times, step_ratio_up, anneal_strategy, gamma: as for the lr (see :func:`cyclic_value`).
    """
    iter_only = True

    def __init__(self, by_epoch=False, target_ratio=(0.85 / 0.95, 1), cyclic_times=1, step_ratio_up=0.4,
                 anneal_strategy='cos', gamma=1, **kwargs):
        owner = type(self).__name__
        self.target_ratio = check_cyclic(target_ratio, cyclic_times, step_ratio_up, gamma, owner)
        self.cyclic_times, self.step_ratio_up, self.gamma = cyclic_times, step_ratio_up, gamma
        self.anneal_strategy, self.anneal_func = anneal_strategy, annealer(anneal_strategy, owner)
        self.period = self.up_iters = None
        super().__init__(by_epoch=by_epoch, **kwargs)

    def before_run(self, runner):
        super().before_run(runner)
        self.period, self.up_iters = cyclic_period(runner, self.cyclic_times, self.step_ratio_up,
                                                   type(self).__name__)

    def get_momentum(self, runner, base_momentum):
        return cyclic_value(base_momentum, runner.iter, self.period, self.up_iters, self.target_ratio,
                            self.gamma, self.anneal_func)


@HOOKS.register_module()
class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """The momentum half of the 1cycle policy, per iteration over the run's ``max_iters``: from
    ``max_momentum`` down to ``base_momentum`` over ``pct_start`` of the run, then back up
    (``three_phase``: down, up by ``2 * pct_start``, then flat at ``max_momentum``).  At ``before_run``
    each group's momentum is set to ``max_momentum`` and its ``base_momentum``/``max_momentum`` recorded
    in the group, as mmcv does.

    Args:
        base_momentum (float | list | dict): the low end, per param group.
        max_momentum (float | list | dict): the high end, per param group.
        pct_start (float): in [0, 1]; the falling part.
        anneal_strategy (str): 'cos' or 'linear'.
        three_phase (bool): as above.
    """
    iter_only = True

    def __init__(self, base_momentum=0.85, max_momentum=0.95, pct_start=0.3, anneal_strategy='cos',
                 three_phase=False, by_epoch=False, **kwargs):
        owner = type(self).__name__
        for name, value in (('base_momentum', base_momentum), ('max_momentum', max_momentum)):
            if not isinstance(value, (numbers.Number, list, tuple, dict)):
                raise InvalidArgumentError(f'{owner}: {name} must be a number, a list or a dict, got {value!r}')
        self._base_momentum, self._max_momentum = base_momentum, max_momentum
        self.pct_start = check_fraction(pct_start, 'pct_start', owner)
        self.anneal_strategy, self.anneal_func = anneal_strategy, annealer(anneal_strategy, owner)
        self.three_phase = three_phase
        self.phase_ends = []
        super().__init__(by_epoch=by_epoch, **kwargs)

    def before_run(self, runner):
        optimizer, owner = runner.optimizer, type(self).__name__
        for group in optimizer.param_groups:
            momentum_key(group, type(optimizer).__name__)
        lows = per_group(self._base_momentum, optimizer, f'{owner}.base_momentum')
        highs = per_group(self._max_momentum, optimizer, f'{owner}.max_momentum')
        for group, low, high in zip(optimizer.param_groups, lows, highs):
            set_group_momentum(group, high)
            group['base_momentum'], group['max_momentum'] = low, high
        # the "base" of a group's schedule is its (low, high) pair
        self.base_values = list(zip(lows, highs))
        self.phase_ends = one_cycle_ends(runner.max_iters, self.pct_start, self.three_phase)

    def get_momentum(self, runner, base_momentum):
        low, high = base_momentum
        values = [high, low, high, high] if self.three_phase else [high, low, high]
        return anneal_phases(runner.iter, self.phase_ends, values, self.anneal_func)


def build_momentum_hook(momentum_config, by_epoch=None):
    """``momentum_config`` (``dict(policy='X', ...)``) -> ``XMomentumUpdaterHook(...)``.

    Args:
        momentum_config (dict | Hook): the policy and its arguments; a hook is returned as is.
        by_epoch (bool | None): the default of ``by_epoch`` when the config has none (the runner's kind),
            never applied to the iteration-only policies (cyclic, OneCycle).  None: the hook's own default.
    """
    return build_schedule_hook(momentum_config, 'MomentumUpdaterHook', 'momentum_config', by_epoch)
