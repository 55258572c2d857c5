from enum import Enum

from mmdet.utils import Registry

HOOKS = Registry('hook')


class Priority(Enum):
    """Hook priority levels as mmcv 1.x names them (a lower value runs earlier)."""
    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


PRIORITIES = {p.name: p.value for p in Priority}


class PriorityError(KeyError, ValueError):
    """An unknown priority name: a ``KeyError`` as mmcv raises it, and a ``ValueError`` too; the message is
    printed as written (a plain KeyError would print it quoted)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ''


def get_priority(priority):
    """The integer of a hook priority, as mmcv 1.x: an int in 0..100 (lower runs earlier), a
    :class:`Priority`, or a priority name in any case (``'low'``, ``'Very_Low'``)."""
    names = ', '.join(f'{p.name} ({p.value})' for p in Priority)
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f'hook priority must be between 0 and 100, got {priority}')
        return int(priority)
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, str):
        key = priority.strip().upper()
        if key not in PRIORITIES:
            raise PriorityError(f"unknown hook priority {priority!r}: use an int in 0..100 or one of {names} "
                                '(any case)')
        return PRIORITIES[key]
    raise TypeError(f'hook priority must be an int in 0..100, a Priority or one of {names}; '
                    f'got {priority!r} ({type(priority).__name__})')

class Hook:
    """Override any of the stages; the runner calls them in priority order.

    A hook that keeps state across epochs (a best score, running averages) returns it from
    :meth:`state_dict`; the runner saves it in every resumable checkpoint (under ``hook_states``, keyed
    by the hook's class name) and hands it back to :meth:`load_state_dict` on resume.

    As in mmcv 1.x, :attr:`stages` lists the stages the runners call, :meth:`get_triggered_stages` those a
    subclass acts in, and ``every_n_epochs`` / ``every_n_iters`` / ``every_n_inner_iters`` /
    ``end_of_epoch`` / ``is_last_epoch`` / ``is_last_iter`` test where the runner is.
    """
    priority = 'NORMAL'

    stages = ('before_run', 'before_train_epoch', 'before_train_iter', 'after_train_iter', 'after_train_epoch',
              'before_val_epoch', 'before_val_iter', 'after_val_iter', 'after_val_epoch', 'after_run')
    # the generic methods and the stages that call them by default
    _generic_stages = {'before_epoch': ('before_train_epoch', 'before_val_epoch'),
                       'after_epoch': ('after_train_epoch', 'after_val_epoch'),
                       'before_iter': ('before_train_iter', 'before_val_iter'),
                       'after_iter': ('after_train_iter', 'after_val_iter')}

    def state_dict(self):
        """This hook's state to save in checkpoints: a dict of tensors and plain values ({}: none)."""
        return {}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (called by the runner's ``resume``)."""

    def before_run(self, runner):
        pass

    def after_run(self, runner):
        pass

    def before_epoch(self, runner):
        pass

    def after_epoch(self, runner):
        pass

    def before_iter(self, runner):
        pass

    def after_iter(self, runner):
        pass

    # the train and val variants default to the generic ones (mmcv 1.x)
    def before_train_epoch(self, runner):
        self.before_epoch(runner)

    def after_train_epoch(self, runner):
        self.after_epoch(runner)

    def before_train_iter(self, runner):
        self.before_iter(runner)

    def after_train_iter(self, runner):
        self.after_iter(runner)

    def before_val_epoch(self, runner):
        self.before_epoch(runner)

    def after_val_epoch(self, runner):
        self.after_epoch(runner)

    def before_val_iter(self, runner):
        self.before_iter(runner)

    def after_val_iter(self, runner):
        self.after_iter(runner)

    @staticmethod
    def every_n_epochs(runner, n):
        return n > 0 and (runner.epoch + 1) % n == 0

    @staticmethod
    def every_n_iters(runner, n):
        return n > 0 and (runner.iter + 1) % n == 0

    @staticmethod
    def every_n_inner_iters(runner, n):
        return n > 0 and (runner.inner_iter + 1) % n == 0

    @staticmethod
    def end_of_epoch(runner):
        return runner.inner_iter + 1 == len(runner.data_loader)

    @staticmethod
    def is_last_epoch(runner):
        return runner.epoch + 1 == runner.max_epochs

    @staticmethod
    def is_last_iter(runner):
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self):
        """The stages (of :attr:`stages`, in that order) this hook's class overrides: directly, or through
        the generic method they call by default (``before_epoch`` -> ``before_train_epoch`` and
        ``before_val_epoch``, and so on), as mmcv 1.x."""
        cls = type(self)
        overridden = {name for name in Hook.stages + tuple(Hook._generic_stages)
                      if getattr(cls, name) is not getattr(Hook, name)}
        triggered = set(overridden)
        for method, stages in Hook._generic_stages.items():
            if method in overridden:
                triggered.update(stages)
        return [s for s in Hook.stages if s in triggered]
