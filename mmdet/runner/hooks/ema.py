"""Exponential moving averages of the weights: mmcv 1.x's ``EMAHook`` and MMDetection 2.x's
``ExpMomentumEMAHook`` / ``LinearMomentumEMAHook`` (``mmdet/core/hook/ema.py``).

After each update ``ema = (1 - m) * ema + m * weight``, with the momentum ``m`` of the iteration.  As in
2.x, the EMA weights are *swapped into the model* at the end of every training epoch, so whatever runs
after it (evaluation, the checkpoint, a ``('val', 1)`` workflow step) sees the EMA model, and swapped back
before the next epoch trains on.  The swap happens right after the update of the epoch's last iteration,
so every ``after_train_epoch`` hook sees the EMA weights whatever its priority (2.x needed ``priority=49``
for that; this toolbox's EvalHook runs earlier than 2.x's).  With the ``IterBasedRunner`` the EMA weights
are swapped in once, at the end of the run.  After training the model holds the EMA weights.

Checkpoint layout: 2.x registered ``ema_*`` buffers in the model, so its ``state_dict`` did not load into
a plain model with ``strict=True``.  Here the model keeps its own keys: an epoch's checkpoint has the EMA
weights as its ``state_dict`` (test it as any checkpoint), and the other copy (the training weights) is
this hook's state, saved under ``hook_states`` of resumable checkpoints, so ``resume_from`` continues
the same average bit for bit.  A 2.x checkpoint's ``ema_*`` entries are read by ``EMAHook(resume_from=...)``.
"""
import math

import torch

from .base import HOOKS, Hook


class BaseEMAHook(Hook):
    """The average, the swaps and the state; subclasses define :meth:`momentum_at` and :meth:`update_due`.

    Args:
        momentum (float): in (0, 1), the weight of the current weights in an update.
        interval (int): update every ``interval`` iterations.
        skip_buffers (bool): average the parameters only (True) or the floating-point buffers too (BN
            statistics; False).  Integer buffers (``num_batches_tracked``) are neither averaged nor swapped.
        resume_from (str | None): a checkpoint to resume the whole run from (``runner.resume``) before the
            first epoch, as 2.x; ``resume_from=`` of the config does the same.
    """
    # after the OptimizerHook (HIGH): the average takes the stepped weights; before a CheckpointHook
    # (NORMAL) that saves by iteration: its checkpoint holds this iteration's average
    priority = 'ABOVE_NORMAL'

    def __init__(self, momentum=0.0002, interval=1, skip_buffers=False, resume_from=None):
        if not 0 < momentum < 1:
            raise ValueError(f'{type(self).__name__}: momentum must be in (0, 1), got {momentum!r}')
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'{type(self).__name__}: interval must be a positive integer, got {interval!r}')
        self.momentum, self.interval = momentum, interval
        self.skip_buffers, self.resume_from = skip_buffers, resume_from
        self.shadow = None    # name -> tensor: the EMA weights, or the training weights while swapped
        self.swapped = False  # True: the model holds the EMA weights and `shadow` the training weights
        self._tracked = None  # name -> the model's tensor
        self._state = None    # loaded by load_state_dict, applied in before_run
        self._by_epoch = False

    # ------------------------------------------------------------ schedule
    def momentum_at(self, it):
        """The momentum of the update after (0-based global) iteration ``it``."""
        return self.momentum

    def update_due(self, it):
        return (it + 1) % self.interval == 0

    # ------------------------------------------------------------- tensors
    def _tensors(self, module):
        """The floating-point tensors averaged: parameters, and buffers unless ``skip_buffers``."""
        named = dict(module.named_parameters()) if self.skip_buffers else module.state_dict(keep_vars=True)
        return {k: v for k, v in named.items() if v.is_floating_point()}

    def before_run(self, runner):
        if self.resume_from is not None:
            runner.resume(self.resume_from)
            if self._state is None:
                self._state = self._state_from_2x(self.resume_from, runner)
        self._tracked = self._tensors(runner.module)
        if self._state is None:
            self.shadow = {k: v.detach().clone() for k, v in self._tracked.items()}
            self.swapped = False
            if runner.iter > 0:
                runner.logger.warning(f'{type(self).__name__}: resumed at iteration {runner.iter} without an EMA state '
                                      '(the checkpoint has none for this hook): the average restarts from the '
                                      'loaded weights')
            return
        shadow = self._state['shadow']
        missing, unexpected = sorted(set(self._tracked) - set(shadow)), sorted(set(shadow) - set(self._tracked))
        if missing or unexpected:
            raise KeyError(f'{type(self).__name__}: the EMA state of the checkpoint does not match the model: '
                           f'missing {missing[:8]}, unexpected {unexpected[:8]}')
        self.shadow = {k: shadow[k].to(device=v.device, dtype=v.dtype) for k, v in self._tracked.items()}
        self.swapped, self._state = bool(self._state['swapped']), None

    def _state_from_2x(self, filename, runner):
        """A 2.x checkpoint keeps the other copy in ``ema_<name with . as _>`` entries of its state_dict; its
        epochs' checkpoints were written swapped (EMA weights as the parameters)."""
        from ..checkpoint import load_state_dict_file
        sd = load_state_dict_file(filename).get('state_dict', {})
        tracked = self._tensors(runner.module)
        keys = {k: 'ema_' + k.replace('.', '_') for k in tracked}
        if not all(v in sd for v in keys.values()):
            return None
        runner.logger.info(f'{type(self).__name__}: the average continues from the ema_* entries of {filename}')
        return dict(shadow={k: sd[v] for k, v in keys.items()}, swapped=True)

    @torch.no_grad()
    def _update(self, momentum):
        names = list(self._tracked)
        shadow = [self.shadow[k] for k in names]
        torch._foreach_mul_(shadow, 1 - momentum)
        torch._foreach_add_(shadow, [self._tracked[k].detach() for k in names], alpha=momentum)

    @torch.no_grad()
    def _swap(self):
        for k, t in self._tracked.items():
            t = t.detach()
            other = t.clone()
            t.copy_(self.shadow[k])
            self.shadow[k] = other
        self.swapped = not self.swapped

    def _swap_in(self):
        if not self.swapped:
            self._swap()

    def _swap_out(self):
        if self.swapped:
            self._swap()

    # --------------------------------------------------------------- stages
    def after_train_iter(self, runner):
        if self.update_due(runner.iter):
            self._update(self.momentum_at(runner.iter))
        if self._by_epoch and self.end_of_epoch(runner):
            self._swap_in()  # before any after_train_epoch hook, whatever their priorities

    def before_train_epoch(self, runner):  # EpochBasedRunner: train on the training weights
        self._by_epoch = True
        self._swap_out()

    def after_train_epoch(self, runner):
        self._swap_in()

    # the val step of a workflow sees the EMA weights of the epoch before, as in 2.x
    def before_val_epoch(self, runner):
        pass

    def after_val_epoch(self, runner):
        pass

    # the IterBasedRunner calls these once, around the whole run
    def before_epoch(self, runner):
        self._swap_out()

    def after_epoch(self, runner):
        self._swap_in()

    # --------------------------------------------------------------- state
    def state_dict(self):
        """The copy the model does not hold (CPU tensors) and which one it is."""
        if self.shadow is None:
            return {}
        return dict(shadow={k: v.detach().cpu() for k, v in self.shadow.items()}, swapped=self.swapped)

    def load_state_dict(self, state):
        if state:
            self._state = dict(shadow=dict(state['shadow']), swapped=bool(state['swapped']))


@HOOKS.register_module()
class EMAHook(BaseEMAHook):
    """mmcv 1.x's EMA of the parameters (buffers are left alone).

    The momentum is ``min(momentum ** interval, (1 + it) / (warm_up + it))`` and the average is updated after
    iterations ``0, interval, 2 * interval, ...`` (mmcv's formulas kept as they are, including raising the
    momentum to the power ``interval``).

    Args:
        momentum (float): in (0, 1).
        interval (int): update every ``interval`` iterations.
        warm_up (int): iterations over which the momentum bound ``(1 + it) / (warm_up + it)`` rises to 1.
        resume_from (str | None): see :class:`BaseEMAHook`.
    """

    def __init__(self, momentum=0.0002, interval=1, warm_up=100, resume_from=None):
        super().__init__(momentum, interval, skip_buffers=True, resume_from=resume_from)
        self.warm_up = warm_up
        self.momentum = momentum ** interval

    def momentum_at(self, it):
        return min(self.momentum, (1 + it) / (self.warm_up + it))

    def update_due(self, it):
        return it % self.interval == 0


@HOOKS.register_module()
class ExpMomentumEMAHook(BaseEMAHook):
    """2.x's EMA with the momentum ``(1 - momentum) * exp(-(1 + it) / total_iter) + momentum``: close to 1 at
    first (the average follows the weights), decaying to ``momentum`` (YOLOX's ``momentum=0.0001``).

    Args:
        total_iter (int): the decay's time constant in iterations.
        momentum, interval, skip_buffers, resume_from: see :class:`BaseEMAHook`.
    """

    def __init__(self, total_iter=2000, **kwargs):
        super().__init__(**kwargs)
        self.total_iter = total_iter

    def momentum_at(self, it):
        return (1 - self.momentum) * math.exp(-(1 + it) / self.total_iter) + self.momentum


@HOOKS.register_module()
class LinearMomentumEMAHook(BaseEMAHook):
    """2.x's EMA with the momentum ``min(momentum ** interval, (1 + it) / (warm_up + it))``.

    Args:
        warm_up (int): iterations over which the bound ``(1 + it) / (warm_up + it)`` rises to 1.
        momentum, interval, skip_buffers, resume_from: see :class:`BaseEMAHook`.
    """

    def __init__(self, warm_up=100, **kwargs):
        super().__init__(**kwargs)
        self.warm_up = warm_up

    def momentum_at(self, it):
        return min(self.momentum ** self.interval, (1 + it) / (self.warm_up + it))
