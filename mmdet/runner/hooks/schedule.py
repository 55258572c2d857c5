"""What every parameter schedule (:mod:`.lr_updater`, :mod:`.momentum_updater`) shares: the maths of
progress (annealing, step counting, cycles, one-cycle phases), the hook base that reads the base values,
sets a value each epoch or iteration and warms it up, and the building from ``dict(policy=...)``.

Timing (mmcv 1.x): with ``by_epoch=True`` the regular value is set in ``before_train_epoch`` from
``runner.epoch``; with ``by_epoch=False`` in every ``before_train_iter`` from ``runner.iter``.  A warmup
always counts iterations (``warmup_by_epoch=True``: ``warmup_iters`` epochs of ``len(data_loader)``
iterations) and scales the regular value of the current step while ``runner.iter < warmup_iters``.
"""
import difflib
import inspect
import math
import numbers

from mmdet.utils import InvalidArgumentError
from mmdet.utils.registry import BuildError

from .base import HOOKS, Hook

WARMUPS = ('constant', 'linear', 'exp')


# ------------------------------------------------------------------------- the maths of progress
def annealing_cos(start, end, factor, weight=1.):
    """Cosine from ``weight * start + (1 - weight) * end`` (factor 0) to ``end`` (factor 1)."""
    return end + 0.5 * weight * (start - end) * (math.cos(math.pi * factor) + 1)


def annealing_linear(start, end, factor):
    """Straight line from ``start`` (factor 0) to ``end`` (factor 1)."""
    return start + (end - start) * factor


ANNEALERS = {'cos': annealing_cos, 'linear': annealing_linear}


def annealer(anneal_strategy, owner):
    """The annealing function for ``anneal_strategy`` ('cos' or 'linear'); ``owner`` names the hook in errors."""
    if anneal_strategy not in ANNEALERS:
        raise InvalidArgumentError(f"{owner}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    return ANNEALERS[anneal_strategy]


def check_step(step, owner):
    """``step``: a positive int (decay every ``step``) or a list of positive ints (decay at each)."""
    if isinstance(step, (list, tuple)):
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in step):
            raise InvalidArgumentError(f'{owner}: every entry of step must be a positive int, got {list(step)}')
        return list(step)
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError(f'{owner}: step must be an int or a list of ints, got {type(step).__name__} {step!r}')
    if step <= 0:
        raise InvalidArgumentError(f'{owner}: step must be positive, got {step}')
    return step


def step_count(progress, step):
    """How many decays happened by ``progress``: ``progress // step`` for an int step; for a list, the
    index of the first entry still ahead (``progress < s``), as mmcv counts (its length when none is)."""
    if isinstance(step, int):
        return progress // step
    return next((i for i, s in enumerate(step) if progress < s), len(step))


def two_ratios(target_ratio, owner):
    """mmcv's ``target_ratio`` forms: a number ``t`` or ``(t,)`` mean ``(t, t / 1e5)``; else ``(up, down)``."""
    if isinstance(target_ratio, numbers.Number):
        return (target_ratio, target_ratio / 1e5)
    if isinstance(target_ratio, (list, tuple)) and len(target_ratio) in (1, 2):
        return (target_ratio[0], target_ratio[0] / 1e5) if len(target_ratio) == 1 else tuple(target_ratio)
    raise InvalidArgumentError(f'{owner}: target_ratio must be a number or a tuple of one or two numbers, '
                               f'got {target_ratio!r}')


def check_cyclic(target_ratio, cyclic_times, step_ratio_up, gamma, owner):
    """Validate a cyclic schedule's arguments; returns ``target_ratio`` as ``(up, down)``."""
    if not 0 <= step_ratio_up < 1:
        raise InvalidArgumentError(f'{owner}: step_ratio_up must be in [0, 1), got {step_ratio_up!r}')
    if not 0 < gamma <= 1:
        raise InvalidArgumentError(f'{owner}: gamma must be in (0, 1], got {gamma!r}')
    if isinstance(cyclic_times, bool) or not isinstance(cyclic_times, int) or cyclic_times <= 0:
        raise InvalidArgumentError(f'{owner}: cyclic_times must be a positive int, got {cyclic_times!r}')
    return two_ratios(target_ratio, owner)


def cyclic_period(runner, cyclic_times, step_ratio_up, owner):
    """``(period, up_iters)``: ``max_iters // cyclic_times`` iterations a cycle (at least 1, with a warning
    where the run is shorter than ``cyclic_times``), the first ``int(step_ratio_up * period)`` rising."""
    period = runner.max_iters // cyclic_times
    if period < 1:
        runner.logger.warning(f'{owner}: cyclic_times={cyclic_times} is more than the {runner.max_iters} '
                              'iterations of the run; one iteration per cycle')
        period = 1
    return period, int(step_ratio_up * period)


def cyclic_value(base, it, period, up_iters, target_ratio, gamma, anneal):
    """mmcv's cyclic schedule at iteration ``it``: cycles of ``period`` iterations, each going from ``base``
    to ``base * target_ratio[0]`` over its first ``up_iters`` iterations, then to ``base * target_ratio[1]``.

    Cycle ``c`` shrinks the peak towards ``base`` by ``gamma ** c`` (``1 - s + target_ratio[0] * s``);
    when the cycle has no rising part (``up_iters == 0``) mmcv applies that shrinking to the end of the
    falling part instead (``1 - s + target_ratio[1] * s``), and so does this.
    """
    cycle, pos = divmod(it, period)
    scale = gamma ** cycle
    if pos < up_iters:
        return anneal(base, base * (1 - scale + target_ratio[0] * scale), pos / up_iters)
    start, end = target_ratio
    if up_iters == 0:
        end = 1 - scale + end * scale
    else:
        start = 1 - scale + start * scale
    return anneal(base * start, base * end, (pos - up_iters) / (period - up_iters))


def one_cycle_ends(total_steps, pct_start, three_phase):
    """The last iteration of each one-cycle phase (mmcv 1.x, as ``torch.optim.lr_scheduler.OneCycleLR``):
    ``pct_start * T - 1`` and ``T - 1``; with ``three_phase`` also ``2 * pct_start * T - 2`` between."""
    if three_phase:
        return [float(pct_start * total_steps) - 1, float(2 * pct_start * total_steps) - 2, total_steps - 1]
    return [float(pct_start * total_steps) - 1, total_steps - 1]


def anneal_phases(it, ends, values, anneal):
    """A value annealed piecewise: phase ``k`` runs from the end of phase ``k - 1`` (iteration 0 for the
    first) to ``ends[k]``, from ``values[k]`` to ``values[k + 1]``; past the last end, the last phase goes on."""
    start = 0
    for k, end in enumerate(ends):
        if it <= end or k == len(ends) - 1:
            span = end - start
            return anneal(values[k], values[k + 1], (it - start) / span if span else 0.)
        start = end


def per_group(value, optimizer, what):
    """One value per param group: a number for all, a list/tuple with one per group, or a dict keyed by
    the optimizer's class name (mmcv's form for several optimizers) holding either."""
    n = len(optimizer.param_groups)
    if isinstance(value, dict):
        name = type(optimizer).__name__
        if name not in value:
            raise KeyError(f'{what}: a dict needs the optimizer name {name!r} as a key, got {sorted(value)}')
        value = value[name]
    if isinstance(value, numbers.Number):
        return [value] * n
    if isinstance(value, (list, tuple)) and len(value) == n:
        return list(value)
    raise InvalidArgumentError(f'{what}: expected a number or {n} values (one per param group), got {value!r}')


def check_fraction(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Number) or not 0 <= value <= 1:
        raise InvalidArgumentError(f'{owner}: {name} must be a number in [0, 1], got {value!r}')
    return float(value)


def one_target(min_value, min_ratio, names, owner):
    """Exactly one of ``min_value`` and ``min_ratio`` (e.g. ``min_lr`` / ``min_lr_ratio``) given."""
    if (min_value is None) == (min_ratio is None):
        raise InvalidArgumentError(f'{owner} needs exactly one of {names[0]} and {names[1]}, '
                                   f'got {names[0]}={min_value!r}, {names[1]}={min_ratio!r}')


# ------------------------------------------------------------------------------ the shared hook
class ScheduledParamHook(Hook):
    """A schedule of one optimizer setting (lr, momentum) over the param groups, with a warmup.

    Args:
        by_epoch (bool): set the regular value once per epoch (from ``runner.epoch``) instead of every
            iteration (from ``runner.iter``).
        warmup (str | None): None, 'constant', 'linear' or 'exp'.
        warmup_iters (int): how many iterations (epochs with ``warmup_by_epoch``) the warmup lasts.
        warmup_ratio (float): in (0, 1]; the warmup factor at iteration 0 (see :meth:`warmup_factor`).
        warmup_by_epoch (bool): ``warmup_iters`` counts epochs of ``len(runner.data_loader)`` iterations.

    Subclasses give ``value_at(runner, base)`` (the regular value of a group), ``read_base(group)`` (the
    value a group's schedule starts from), ``write(group, value)`` and ``warm(value, factor)``.
    """
    iter_only = False  # a schedule defined over iterations only (cyclic, one-cycle): by_epoch must be False

    def __init__(self, by_epoch=True, warmup=None, warmup_iters=0, warmup_ratio=0.1, warmup_by_epoch=False):
        owner = type(self).__name__
        if warmup is not None and warmup not in WARMUPS:
            raise InvalidArgumentError(f"{owner}: warmup must be None, 'constant', 'linear' or 'exp', "
                                       f'got {warmup!r}')
        if warmup is not None:
            if not isinstance(warmup_iters, int) or warmup_iters <= 0:
                raise InvalidArgumentError(f'{owner}: warmup={warmup!r} needs a positive int warmup_iters, '
                                           f'got {warmup_iters!r}')
            if not 0 < warmup_ratio <= 1.0:
                raise InvalidArgumentError(f'{owner}: warmup_ratio must be in (0, 1], got {warmup_ratio!r}')
        if self.iter_only and by_epoch:
            raise InvalidArgumentError(f'{owner} is a schedule over iterations: by_epoch must be False '
                                       '(as in mmcv 1.x)')
        self.by_epoch, self.warmup, self.warmup_ratio = by_epoch, warmup, warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        # with warmup_by_epoch the iteration count is known once the data loader is (first epoch/iteration)
        self.warmup_epochs = warmup_iters if warmup_by_epoch else None
        self.warmup_iters = None if warmup_by_epoch else warmup_iters
        self.base_values, self.regular_values = [], []

    # --- what subclasses define
    def value_at(self, runner, base):
        raise NotImplementedError

    def read_base(self, group):
        raise NotImplementedError

    def write(self, group, value):
        raise NotImplementedError

    def warm(self, value, factor):
        raise NotImplementedError

    # --- shared
    def progress(self, runner):
        """``(epoch, max_epochs)`` with ``by_epoch``, else ``(iter, max_iters)``."""
        return (runner.epoch, runner.max_epochs) if self.by_epoch else (runner.iter, runner.max_iters)

    def warmup_factor(self, cur_iter):
        """The warmup at iteration ``cur_iter < warmup_iters``, with ``r = warmup_ratio``, ``W = warmup_iters``:
        constant ``r``; linear ``1 - (1 - cur_iter / W) * (1 - r)``; exp ``r ** (1 - cur_iter / W)``."""
        if self.warmup == 'constant':
            return self.warmup_ratio
        if self.warmup == 'linear':
            return 1 - (1 - cur_iter / self.warmup_iters) * (1 - self.warmup_ratio)
        return self.warmup_ratio ** (1 - cur_iter / self.warmup_iters)

    def regular(self, runner):
        return [self.value_at(runner, base) for base in self.base_values]

    def warmed(self, cur_iter):
        factor = self.warmup_factor(cur_iter)
        return [self.warm(v, factor) for v in self.regular_values]

    def apply(self, runner, values):
        for group, value in zip(runner.optimizer.param_groups, values):
            self.write(group, value)

    def _resolve_warmup_iters(self, runner):
        if self.warmup_iters is None:
            self.warmup_iters = self.warmup_epochs * len(runner.data_loader)

    def before_run(self, runner):
        self.base_values = [self.read_base(group) for group in runner.optimizer.param_groups]

    def before_train_epoch(self, runner):
        self._resolve_warmup_iters(runner)
        if self.by_epoch:
            self.regular_values = self.regular(runner)
            self.apply(runner, self.regular_values)

    def before_train_iter(self, runner):
        self._resolve_warmup_iters(runner)
        cur = runner.iter
        if not self.by_epoch:
            self.regular_values = self.regular(runner)
        in_warmup = self.warmup is not None and cur < self.warmup_iters
        if in_warmup:
            self.apply(runner, self.warmed(cur))
        elif not self.by_epoch or (self.warmup is not None and cur == self.warmup_iters):
            # per iteration: every step; per epoch: once, where the warmup hands over
            self.apply(runner, self.regular_values)


# ---------------------------------------------------------------------------------- building
def resolve_policy(policy, suffix, config_name):
    """The hook class for ``policy``: ``HOOKS['<policy><suffix>']``.  mmcv's rule (an all-lower-case name is
    title-cased: 'step' -> 'StepLrUpdaterHook') is extended to any capitalisation of a registered name
    ('cosineannealing', 'onecycle'); a hook class itself is taken as is."""
    if inspect.isclass(policy):
        return policy
    if not isinstance(policy, str):
        raise TypeError(f'{config_name}.policy must be a str, got {type(policy).__name__} {policy!r}')
    cls = HOOKS.get(policy + suffix) or HOOKS.get(policy.title() + suffix)
    known = {name[:-len(suffix)]: c for name, c in HOOKS.module_dict.items()
             if name.endswith(suffix) and len(name) > len(suffix)}
    if cls is None:
        cls = {name.lower(): c for name, c in known.items()}.get(policy.lower())
    if cls is None:
        close = difflib.get_close_matches(policy, list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ''
        raise KeyError(f"{config_name}.policy '{policy}' is not known{hint} (known: {', '.join(sorted(known))})")
    return cls


def accepted_keys(cls):
    """The keyword arguments ``cls`` takes, through the ``**kwargs`` its ``__init__``s pass up."""
    keys = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        keys |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {'self'}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return keys
    return None  # a **kwargs all the way up: anything goes


def build_schedule_hook(config, suffix, config_name, by_epoch=None):
    """A schedule hook from ``dict(policy=..., **arguments)``; ``by_epoch`` (the runner's kind) is used
    when the config does not say and the policy can update per epoch.  A Hook passes through."""
    if isinstance(config, Hook):
        return config
    if not isinstance(config, dict) or 'policy' not in config:
        raise KeyError(f"{config_name} needs a 'policy' (e.g. dict(policy='step', step=[8, 11])), got {config!r}")
    cfg = dict(config)
    cls = resolve_policy(cfg.pop('policy'), suffix, config_name)
    if by_epoch is not None and 'by_epoch' not in cfg and not getattr(cls, 'iter_only', False):
        cfg['by_epoch'] = by_epoch
    keys = accepted_keys(cls)
    unknown = [k for k in cfg if keys is not None and k not in keys]
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, sorted(keys), n=1)
            hints.append(f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else ''))
        raise BuildError(f"{config_name}: {cls.__name__} got unknown key(s) {', '.join(hints)}; "
                         f"it accepts: {', '.join(sorted(keys))}")
    return cls(**cfg)
