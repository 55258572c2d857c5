import time

from .base import HOOKS, Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Logs ``data_time`` (waiting for the batch) and ``time`` (the whole
    iteration, backward and step included): it runs after the optimizer hook
    and before the loggers."""
    priority = 'LOW'

    def before_epoch(self, runner):
        self.t = time.time()

    def before_iter(self, runner):
        runner.log_buffer.update({'data_time': time.time() - self.t})

    def after_iter(self, runner):
        runner.log_buffer.update({'time': time.time() - self.t})
        self.t = time.time()
