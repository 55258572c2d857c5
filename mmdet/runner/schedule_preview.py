"""The learning rate and momentum a config trains with, iteration by iteration, without training."""
import logging

import torch

from .hooks.lr_updater import build_lr_hook
from .hooks.momentum_updater import build_momentum_hook


class _PreviewRunner:
    """What a schedule hook reads from a runner: progress, run length, the optimizer, the loader's length."""

    def __init__(self, optimizer, max_epochs, iters_per_epoch):
        self.optimizer, self.max_epochs = optimizer, max_epochs
        self.max_iters = max_epochs * iters_per_epoch
        self.data_loader = range(iters_per_epoch)
        self.epoch = self.iter = self.inner_iter = 0
        self.logger = logging.getLogger('mmdet.schedule_preview')


def preview_schedule(lr_config=None, momentum_config=None, max_epochs=12, iters_per_epoch=1, lr=0.01,
                     momentum=0.9, by_epoch=True):
    """The hooks of ``lr_config`` / ``momentum_config`` built as the runner builds them and driven through
    ``max_epochs`` epochs of ``iters_per_epoch`` iterations, on one SGD param group.

    Args:
        lr_config (dict | None), momentum_config (dict | None): as in a config.
        max_epochs (int), iters_per_epoch (int): the run (an iteration-based run of N iterations:
            ``max_epochs=1, iters_per_epoch=N, by_epoch=False``).
        lr (float), momentum (float): the optimizer's (``optimizer.lr`` / ``optimizer.momentum``).
        by_epoch (bool): the runner's kind: the ``by_epoch`` default of the configs.

    Returns:
        list[tuple]: ``(epoch, iter, lr, momentum)`` for every training iteration, as the step sees them.
    """
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=momentum)
    hooks = [build_lr_hook(lr_config, by_epoch)] if lr_config is not None else []
    if momentum_config is not None:
        hooks.append(build_momentum_hook(momentum_config, by_epoch))
    runner = _PreviewRunner(optimizer, max_epochs, iters_per_epoch)
    for hook in hooks:
        hook.before_run(runner)
    group, rows = optimizer.param_groups[0], []
    for epoch in range(max_epochs):
        runner.epoch = epoch
        for hook in hooks:
            hook.before_train_epoch(runner)
        for i in range(iters_per_epoch):
            runner.iter, runner.inner_iter = epoch * iters_per_epoch + i, i
            for hook in hooks:
                hook.before_train_iter(runner)
            rows.append((epoch, runner.iter, group['lr'], group['momentum']))
    return rows
