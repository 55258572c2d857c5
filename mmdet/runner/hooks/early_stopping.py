"""Stop training when a monitored metric has stopped improving."""
import numpy as np

from mmdet.utils import broadcast_object, is_dist

from .base import HOOKS, Hook


def _fmt(value):
    return 'none yet' if value is None else f'{value:.4f}'


@HOOKS.register_module()
class EarlyStoppingHook(Hook):
    """End the run after the epoch in which ``monitor`` has gone ``patience`` checks without improving.

    Where the value comes from depends on its name:

    * a loss (the name contains ``loss``: ``loss``, ``loss_cls``, ...): its mean over the epoch of a
      ``('val', 1)`` workflow step (``BaseDetector.val_step``), checked after each val epoch;
    * anything else (``bbox_mAP``, ``mAP``, ...): the EvalHook's results, checked after each training
      epoch that was evaluated (``evaluation.interval``).

    A value improves on the best so far when it is greater (``rule='greater'``) or less (``'less'``) by
    more than ``min_delta``; a NaN never improves.  The hook stops the run by setting
    ``runner.should_stop``: the runner finishes the current epoch (a val step of the workflow after it
    included) and stops.  The best value and the count of checks without improvement are the hook's state,
    saved in checkpoints, so a resumed run keeps counting.  In distributed training rank 0, which alone
    evaluates, decides for all ranks.  For the ``EpochBasedRunner``.

    Args:
        monitor (str): the metric or loss name (see above).
        rule (str | None): ``'greater'`` or ``'less'``; None infers it from the name as the EvalHook's
            ``save_best`` does (``loss`` -> less; ``mAP``, ``AR``, ... -> greater).
        min_delta (float): the least change that counts as an improvement (>= 0).
        patience (int): checks in a row without improvement after which training stops (> 0).
    """
    # after the EvalHook (ABOVE_NORMAL = 40), whose results it reads; before the CheckpointHook (NORMAL = 50),
    # so the epoch's checkpoint holds this check in the hook's state
    priority = 45

    def __init__(self, monitor, rule=None, min_delta=0.0, patience=3):
        from mmdet.core.evaluation.eval_hooks import EvalHook  # its rule names; imported late: it imports the runner
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f'EarlyStoppingHook: monitor must be a metric or loss name, got {monitor!r}')
        if rule is None:
            if any(k in monitor for k in EvalHook.less_keys):
                rule = 'less'
            elif any(k in monitor for k in EvalHook.greater_keys):
                rule = 'greater'
            else:
                raise ValueError(f"EarlyStoppingHook: cannot infer the rule for monitor='{monitor}': "
                                 "set rule='greater' or 'less'")
        if rule not in ('greater', 'less'):
            raise KeyError(f"EarlyStoppingHook: rule must be 'greater', 'less' or None, got {rule!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f'EarlyStoppingHook: patience must be a positive integer, got {patience!r}')
        if not min_delta >= 0:
            raise ValueError(f'EarlyStoppingHook: min_delta must be >= 0, got {min_delta!r}')
        self.monitor, self.rule, self.min_delta, self.patience = monitor, rule, float(min_delta), patience
        self.from_val_losses = 'loss' in monitor
        self.best, self.best_epoch, self.wait_count = None, None, 0
        self._seen_results = None
        self._val_values = []  # (value, num_samples) of the current val epoch

    def improves(self, value):
        if self.best is None:
            return not np.isnan(value)
        if self.rule == 'greater':
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def _check(self, runner, value, epoch):
        """One check of ``value`` (rank 0's on every rank); sets ``runner.should_stop`` after ``patience``
        checks without improvement."""
        if value is not None:
            if self.improves(value):
                self.best, self.best_epoch, self.wait_count = value, epoch, 0
            else:
                self.wait_count += 1
            runner.logger.info(f'EarlyStoppingHook: {self.monitor} {value:.4f} (best {_fmt(self.best)}, epoch '
                               f'{self.best_epoch}); {self.wait_count}/{self.patience} checks without improvement')
        if is_dist():
            self.best, self.best_epoch, self.wait_count = broadcast_object(
                (self.best, self.best_epoch, self.wait_count))
        if self.wait_count >= self.patience:
            runner.should_stop = True
            runner.logger.info(f'EarlyStoppingHook: stopping after epoch {epoch}: {self.monitor} has not improved '
                               f'by more than {self.min_delta} for {self.wait_count} checks (best {_fmt(self.best)}, '
                               f'epoch {self.best_epoch})')

    def after_train_epoch(self, runner):
        if self.from_val_losses:
            return
        results = runner.eval_results
        fresh = bool(results) and results is not self._seen_results  # the EvalHook sets a new dict each time
        value = None
        if fresh:
            self._seen_results = results
            if self.monitor not in results:
                raise KeyError(f"EarlyStoppingHook: monitor='{self.monitor}' is not among the evaluation results "
                               f'{sorted(results)}')
            value = float(results[self.monitor])
        if fresh or is_dist():  # the other ranks have no results: they take rank 0's check
            self._check(runner, value, runner.epoch + 1)

    def before_val_epoch(self, runner):
        self._val_values = []

    def after_val_iter(self, runner):
        if not self.from_val_losses:
            return
        log_vars = runner.outputs.get('log_vars', {})
        if self.monitor not in log_vars:
            raise KeyError(f"EarlyStoppingHook: monitor='{self.monitor}' is not among the val losses "
                           f'{sorted(log_vars)}')
        self._val_values.append((float(log_vars[self.monitor]), runner.outputs.get('num_samples', 1)))

    def after_val_epoch(self, runner):
        if not self.from_val_losses or not self._val_values:
            return
        values, counts = zip(*self._val_values)
        # the mean over the val epoch, by images as the log shows it; `epoch`: the train epoch just before
        self._check(runner, float(np.average(values, weights=counts)), runner.epoch)

    def state_dict(self):
        return dict(best=self.best, best_epoch=self.best_epoch, wait_count=self.wait_count)

    def load_state_dict(self, state):
        if state:
            self.best, self.best_epoch, self.wait_count = state['best'], state['best_epoch'], int(state['wait_count'])
