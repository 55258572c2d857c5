from mmdet.utils import Registry

HOOKS = Registry('hook')

PRIORITIES = {'HIGHEST': 0, 'VERY_HIGH': 10, 'HIGH': 30, 'ABOVE_NORMAL': 40, 'NORMAL': 50,
              'BELOW_NORMAL': 60, 'LOW': 70, 'VERY_LOW': 90, 'LOWEST': 100}


def get_priority(priority):
    if isinstance(priority, int):
        return priority
    if priority not in PRIORITIES:
        raise KeyError(f"unknown hook priority '{priority}' (known: {sorted(PRIORITIES)})")
    return PRIORITIES[priority]


class Hook:
    """Override any of the stages; the runner calls them in priority order.

    A hook that keeps state across epochs (a best score, running averages) returns it from
    :meth:`state_dict`; the runner saves it in every resumable checkpoint (under ``hook_states``, keyed
    by the hook's class name) and hands it back to :meth:`load_state_dict` on resume.
    """
    priority = 'NORMAL'

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
