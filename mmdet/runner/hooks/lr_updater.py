"""Learning-rate schedules: every mmcv 1.x lr policy, with mmcv 1.x's numbers.

``lr_config = dict(policy='CosineRestart', periods=[...], ...)`` builds ``CosineRestartLrUpdaterHook``
(:func:`build_lr_hook`).  A policy is a hook class whose ``get_lr(runner, base_lr)`` gives the regular rate
of one param group from the run's progress; the timing and the warmup are :class:`ScheduledParamHook`'s.
"""
import numbers

from mmdet.utils import InvalidArgumentError

from .base import HOOKS
from .schedule import (ScheduledParamHook, anneal_phases, annealer, annealing_cos, annealing_linear,
                       build_schedule_hook, check_cyclic, check_fraction, check_step, cyclic_period, cyclic_value,
                       one_cycle_ends, one_target, per_group, step_count)

format_param = per_group  # mmcv 1.x's name (``annealing_cos``/``annealing_linear`` are importable from here too)


class LrUpdaterHook(ScheduledParamHook):
    """Base of the lr policies: ``get_lr(runner, base_lr)`` gives a group's regular rate; ``base_lr`` is the
    group's ``initial_lr`` (set from its ``lr`` at the first ``before_run``, kept in checkpoints), and the
    warmup multiplies the rate by :meth:`warmup_factor`.  Arguments: :class:`ScheduledParamHook`."""
    priority = 'VERY_HIGH'

    def get_lr(self, runner, base_lr):
        raise NotImplementedError

    def value_at(self, runner, base):
        return self.get_lr(runner, base)

    def read_base(self, group):
        group.setdefault('initial_lr', group['lr'])
        return group['initial_lr']

    def write(self, group, value):
        group['lr'] = value

    def warm(self, value, factor):
        return value * factor

    # mmcv 1.x names
    base_lr = property(lambda self: self.base_values, lambda self, v: setattr(self, 'base_values', v))
    regular_lr = property(lambda self: self.regular_values, lambda self, v: setattr(self, 'regular_values', v))

    def get_regular_lr(self, runner):
        """mmcv's name: the regular rate of every param group (a list)."""
        return ScheduledParamHook.regular(self, runner)

    def get_warmup_lr(self, cur_iters):
        """mmcv's name: the warmed-up rates at iteration ``cur_iters`` (from ``self.regular_lr``)."""
        return ScheduledParamHook.warmed(self, cur_iters)

    def _set_lr(self, runner, lr_groups):
        """mmcv's name: write ``lr_groups`` (one rate per param group) into the optimizer."""
        self.apply(runner, lr_groups)

    # a 2.x-style policy that overrides mmcv's methods (``get_regular_lr`` / ``get_warmup_lr``, as 2.28's
    # YOLOXLrUpdaterHook) is run through them
    def regular(self, runner):
        if type(self).get_regular_lr is not LrUpdaterHook.get_regular_lr:
            return self.get_regular_lr(runner)
        return ScheduledParamHook.regular(self, runner)

    def warmed(self, cur_iter):
        if type(self).get_warmup_lr is not LrUpdaterHook.get_warmup_lr:
            return self.get_warmup_lr(cur_iter)
        return ScheduledParamHook.warmed(self, cur_iter)


# ------------------------------------------------------------------------------- the policies
@HOOKS.register_module()
class FixedLrUpdaterHook(LrUpdaterHook):
    """``lr = base_lr``."""

    def get_lr(self, runner, base_lr):
        return base_lr


@HOOKS.register_module()
class StepLrUpdaterHook(LrUpdaterHook):
    """``lr = max(base_lr * gamma ** n, min_lr)``, ``n`` the decays so far (:func:`step_count`).

    Args:
        step (int | list[int]): decay every ``step`` epochs/iterations, or at each listed one.
        gamma (float): the decay factor.
        min_lr (float | None): the rate never goes below it (None: no floor).
    """

    def __init__(self, step, gamma=0.1, min_lr=None, **kwargs):
        self.step = check_step(step, type(self).__name__)
        self.gamma, self.min_lr = gamma, min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        lr = base_lr * self.gamma ** step_count(self.progress(runner)[0], self.step)
        return max(lr, self.min_lr) if self.min_lr is not None else lr


@HOOKS.register_module()
class ExpLrUpdaterHook(LrUpdaterHook):
    """``lr = base_lr * gamma ** progress``."""

    def __init__(self, gamma, **kwargs):
        self.gamma = gamma
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        return base_lr * self.gamma ** self.progress(runner)[0]


@HOOKS.register_module()
class PolyLrUpdaterHook(LrUpdaterHook):
    """``lr = (base_lr - min_lr) * (1 - progress / max_progress) ** power + min_lr``."""

    def __init__(self, power=1., min_lr=0., **kwargs):
        self.power, self.min_lr = power, min_lr
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        progress, total = self.progress(runner)
        return (base_lr - self.min_lr) * (1 - progress / total) ** self.power + self.min_lr


@HOOKS.register_module()
class InvLrUpdaterHook(LrUpdaterHook):
    """``lr = base_lr * (1 + gamma * progress) ** -power``."""

    def __init__(self, gamma, power=1., **kwargs):
        self.gamma, self.power = gamma, power
        super().__init__(**kwargs)

    def get_lr(self, runner, base_lr):
        return base_lr * (1 + self.gamma * self.progress(runner)[0]) ** (-self.power)


class _AnnealToTarget(LrUpdaterHook):
    """Policies ending at ``min_lr`` or ``base_lr * min_lr_ratio`` (exactly one given)."""

    def __init__(self, min_lr=None, min_lr_ratio=None, **kwargs):
        one_target(min_lr, min_lr_ratio, ('min_lr', 'min_lr_ratio'), type(self).__name__)
        self.min_lr, self.min_lr_ratio = min_lr, min_lr_ratio
        super().__init__(**kwargs)

    def target(self, base_lr):
        return base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else self.min_lr


@HOOKS.register_module()
class CosineAnnealingLrUpdaterHook(_AnnealToTarget):
    """Cosine from ``base_lr`` to the target over the run: ``annealing_cos(base, target, progress / max)``."""

    def get_lr(self, runner, base_lr):
        progress, total = self.progress(runner)
        return annealing_cos(base_lr, self.target(base_lr), progress / total)


@HOOKS.register_module()
class LinearAnnealingLrUpdaterHook(_AnnealToTarget):
    """A straight line from ``base_lr`` to the target over the run (mmcv >= 1.6)."""

    def get_lr(self, runner, base_lr):
        progress, total = self.progress(runner)
        return annealing_linear(base_lr, self.target(base_lr), progress / total)


@HOOKS.register_module()
class FlatCosineAnnealingLrUpdaterHook(_AnnealToTarget):
    """``base_lr`` until ``start = round(max_progress * start_percent)``, then a cosine to the target over
    the remaining ``max_progress - start``.

    Args:
        start_percent (float): in [0, 1]; where the cosine starts, as a fraction of the run.
        min_lr, min_lr_ratio: the target (exactly one).
    """

    def __init__(self, start_percent=0.75, min_lr=None, min_lr_ratio=None, **kwargs):
        self.start_percent = check_fraction(start_percent, 'start_percent', type(self).__name__)
        super().__init__(min_lr, min_lr_ratio, **kwargs)

    def get_lr(self, runner, base_lr):
        progress, total = self.progress(runner)
        start = round(total * self.start_percent)
        if progress < start:
            return base_lr
        return annealing_cos(base_lr, self.target(base_lr), (progress - start) / (total - start))


@HOOKS.register_module()
class CosineRestartLrUpdaterHook(_AnnealToTarget):
    """Cosine annealing with restarts: period ``k`` (``periods[k]`` epochs/iterations) anneals from
    ``w * base_lr + (1 - w) * target`` to the target, ``w = restart_weights[k]``.

    Args:
        periods (list[int]): the length of each cosine; together they must cover the run.
        restart_weights (list[float] | None): one per period (None: all 1).
        min_lr, min_lr_ratio: the target (exactly one).
    """

    def __init__(self, periods, restart_weights=None, min_lr=None, min_lr_ratio=None, **kwargs):
        owner = type(self).__name__
        if not isinstance(periods, (list, tuple)) or not periods or \
                not all(isinstance(p, int) and p > 0 for p in periods):
            raise InvalidArgumentError(f'{owner}: periods must be a non-empty list of positive ints, got {periods!r}')
        restart_weights = [1] * len(periods) if restart_weights is None else list(restart_weights)
        if len(restart_weights) != len(periods):
            raise InvalidArgumentError(f'{owner}: periods ({len(periods)}) and restart_weights '
                                       f'({len(restart_weights)}) must have the same length')
        self.periods, self.restart_weights = list(periods), restart_weights
        self.cumulative_periods = [sum(self.periods[:i + 1]) for i in range(len(self.periods))]
        super().__init__(min_lr, min_lr_ratio, **kwargs)

    def before_run(self, runner):
        super().before_run(runner)
        _, total = self.progress(runner)
        if total is not None and self.cumulative_periods[-1] < total:
            unit = 'epochs' if self.by_epoch else 'iterations'
            raise InvalidArgumentError(f'{type(self).__name__}: periods {self.periods} cover '
                                       f'{self.cumulative_periods[-1]} {unit} but the run has {total}')

    def get_lr(self, runner, base_lr):
        progress = self.progress(runner)[0]
        k = next((i for i, end in enumerate(self.cumulative_periods) if progress < end), None)
        if k is None:
            raise ValueError(f'{type(self).__name__}: {progress} is past the end of periods {self.periods}')
        restart = self.cumulative_periods[k - 1] if k else 0
        alpha = min((progress - restart) / self.periods[k], 1)
        return annealing_cos(base_lr, self.target(base_lr), alpha, self.restart_weights[k])


@HOOKS.register_module()
class CyclicLrUpdaterHook(LrUpdaterHook):
    """Cyclic lr (Smith 2017, with cosine or linear annealing inside a cycle), per iteration.

    The run's ``max_iters`` is cut into ``cyclic_times`` cycles of ``max_iters // cyclic_times``
    iterations; see :func:`cyclic_value`.  ``step_ratio_up=0`` gives one decay per cycle (the SWA schedule).

    Args:
        target_ratio (float | tuple): ``(up, down)``: the peak and the end as multiples of ``base_lr``
            (a number ``t``: ``(t, t / 1e5)``).
        cyclic_times (int): cycles in the run.
        step_ratio_up (float): in [0, 1); the rising part of a cycle.
        anneal_strategy (str): 'cos' or 'linear'.
        gamma (float): in (0, 1]; cycle ``c``'s peak is shrunk by ``gamma ** c`` (mmcv >= 1.4.4).
    """
    iter_only = True

    def __init__(self, by_epoch=False, target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4,
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

    def get_lr(self, runner, base_lr):
        return cyclic_value(base_lr, runner.iter, self.period, self.up_iters, self.target_ratio, self.gamma,
                            self.anneal_func)


@HOOKS.register_module()
class OneCycleLrUpdaterHook(LrUpdaterHook):
    """The 1cycle policy (Smith & Topin 2018), per iteration: from ``max_lr / div_factor`` up to ``max_lr``
    over ``pct_start`` of ``total_steps``, then down to ``max_lr / div_factor / final_div_factor``
    (``three_phase``: back to ``max_lr / div_factor`` first, then down).  The optimizer's own lr is not
    used: ``base_lr`` is ``max_lr / div_factor``.

    Args:
        max_lr (float | list | dict): the peak, per param group (see :func:`per_group`).
        total_steps (int | None): the cycle's length; None: the run's ``max_iters`` (never fewer).
        pct_start (float): in [0, 1]; the rising part.
        anneal_strategy (str): 'cos' or 'linear'.
        div_factor (float), final_div_factor (float), three_phase (bool): as above.
    """
    iter_only = True

    def __init__(self, max_lr, total_steps=None, pct_start=0.3, anneal_strategy='cos', div_factor=25,
                 final_div_factor=1e4, three_phase=False, by_epoch=False, **kwargs):
        owner = type(self).__name__
        if not isinstance(max_lr, (numbers.Number, list, tuple, dict)):
            raise InvalidArgumentError(f'{owner}: max_lr must be a number, a list or a dict, got {max_lr!r}')
        if total_steps is not None and (not isinstance(total_steps, int) or total_steps <= 0):
            raise InvalidArgumentError(f'{owner}: total_steps must be a positive int, got {total_steps!r}')
        self.max_lr, self.total_steps = max_lr, total_steps
        self.pct_start = check_fraction(pct_start, 'pct_start', owner)
        self.anneal_strategy, self.anneal_func = anneal_strategy, annealer(anneal_strategy, owner)
        self.div_factor, self.final_div_factor, self.three_phase = div_factor, final_div_factor, three_phase
        self.phase_ends, self.phase_ratios = [], []
        super().__init__(by_epoch=by_epoch, **kwargs)

    def before_run(self, runner):
        total = self.total_steps if self.total_steps is not None else runner.max_iters
        if total < runner.max_iters:
            raise InvalidArgumentError(f'{type(self).__name__}: total_steps={total} is less than the '
                                       f'{runner.max_iters} iterations of the run')
        peaks = per_group(self.max_lr, runner.optimizer, f'{type(self).__name__}.max_lr')
        self.base_values = [peak / self.div_factor for peak in peaks]
        for group, lr in zip(runner.optimizer.param_groups, self.base_values):
            group.setdefault('initial_lr', lr)
        self.phase_ends = one_cycle_ends(total, self.pct_start, self.three_phase)
        # the rate at each phase boundary, as a multiple of base_lr
        self.phase_ratios = [1, self.div_factor, 1, 1 / self.final_div_factor] if self.three_phase else \
            [1, self.div_factor, 1 / self.final_div_factor]

    def get_lr(self, runner, base_lr):
        return anneal_phases(runner.iter, self.phase_ends, [base_lr * r for r in self.phase_ratios],
                             self.anneal_func)


def build_lr_hook(lr_config, by_epoch=None):
    """``lr_config`` (``dict(policy='X', ...)``) -> ``XLrUpdaterHook(...)``.

    Args:
        lr_config (dict | Hook): the policy and its arguments; a hook is returned as is.
        by_epoch (bool | None): the default of ``by_epoch`` when ``lr_config`` has none (the runner's
            kind: True for an epoch-based runner); never applied to the iteration-only policies (cyclic,
            OneCycle).  None: the hook's own default.
    """
    return build_schedule_hook(lr_config, 'LrUpdaterHook', 'lr_config', by_epoch)
