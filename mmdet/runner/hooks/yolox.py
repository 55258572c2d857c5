"""MMDetection 2.x's own runtime hooks (``mmdet/core/hook`` in 2.28), under their 2.x names:

* ``lr_config = dict(policy='YOLOX', ...)``: :class:`YOLOXLrUpdaterHook` (a squared warmup, a cosine, then a
  constant ``min_lr`` for the last ``num_last_epochs`` epochs);
* ``custom_hooks``: :class:`YOLOXModeSwitchHook` (Mosaic/MixUp off and the L1 loss on for the last epochs),
  :class:`SyncNormHook` (the norm layers' running statistics averaged over the ranks),
  :class:`CheckInvalidLossHook` (SSD), :class:`SetEpochInfoHook` (TOOD) and :class:`MemoryProfilerHook`.

Epochs are 0-based as ``runner.epoch`` is: 2.x's "``epoch + 1 == max_epochs - num_last_epochs``" is the
epoch index ``max_epochs - num_last_epochs - 1``, so YOLOX's switch covers the last ``num_last_epochs + 1``
epochs (16 of 300 for ``num_last_epochs=15``), as in 2.28.
"""
import torch
import torch.nn as nn

from mmdet.parallel import bare_model
from mmdet.utils import InvalidArgumentError
from mmdet.utils.dist import average_over_ranks_

from .base import HOOKS, Hook
from .lr_updater import CosineAnnealingLrUpdaterHook
from .optimizer import NonFiniteLossError
from .schedule import annealing_cos

def _switch_epoch(runner, num_last_epochs):
    """True from the epoch 2.x switches at (``epoch + 1 == max_epochs - num_last_epochs``) on."""
    return runner.epoch + 1 >= runner.max_epochs - num_last_epochs


# ----------------------------------------------------------------------------------------- lr
@HOOKS.register_module()
class YOLOXLrUpdaterHook(CosineAnnealingLrUpdaterHook):
    """YOLOX's lr (2.28's ``YOLOXLrUpdaterHook``), per iteration.  With ``W`` the warmup's iterations,
    ``L = num_last_epochs * len(data_loader)``, ``T`` the run's iterations, ``p = iter + 1`` and
    ``target = base * min_lr_ratio`` (or ``min_lr``):

    * warmup (``iter < W``, whatever the ``warmup`` kind): ``base * warmup_ratio * ((iter + 1) / W) ** 2``;
    * then ``annealing_cos(base, target, (p - W) / (T - W - L))`` while ``p < T - L``;
    * then ``target`` (from the iteration before the last ``num_last_epochs`` epochs on).

    Args:
        num_last_epochs (int): the epochs at the end trained at the constant ``target``.
        min_lr, min_lr_ratio: the target (exactly one).
        by_epoch (bool): must be False (the YOLOX configs' value).  2.28 also took ``by_epoch=True``
            but then compared epochs with a length in iterations (constant ``target`` from the first
            epoch), so it is refused here.
        warmup, warmup_iters, warmup_ratio, warmup_by_epoch: as for every policy; the warmup's shape
            is the square above.
    """
    iter_only = True  # by_epoch is not taken from the runner's kind

    def __init__(self, num_last_epochs, by_epoch=False, **kwargs):
        owner = type(self).__name__
        if isinstance(num_last_epochs, bool) or not isinstance(num_last_epochs, int) or num_last_epochs < 0:
            raise InvalidArgumentError(f'{owner}: num_last_epochs must be an int >= 0, got {num_last_epochs!r}')
        if by_epoch:
            raise InvalidArgumentError(f'{owner} works per iteration: by_epoch must be False (as in the 2.x '
                                       'YOLOX configs; 2.28 mixed epochs and iterations with by_epoch=True)')
        self.num_last_epochs = num_last_epochs
        super().__init__(by_epoch=False, **kwargs)

    def warmed(self, cur_iter):
        # 2.28: k = warmup_ratio * ((cur_iters + 1) / warmup_iters) ** 2, times the base (not the regular) lr
        factor = self.warmup_ratio * ((cur_iter + 1) / float(self.warmup_iters)) ** 2
        return [base * factor for base in self.base_values]

    def get_lr(self, runner, base_lr):
        last_iters = len(runner.data_loader) * self.num_last_epochs
        progress, total = runner.iter + 1, runner.max_iters
        target = self.target(base_lr)
        if progress >= total - last_iters:
            return target
        span = total - self.warmup_iters - last_iters
        if span <= 0:
            raise InvalidArgumentError(
                f'{type(self).__name__}: the warmup ({self.warmup_iters} iterations) and num_last_epochs='
                f'{self.num_last_epochs} ({last_iters} iterations) leave none of the {total} iterations of '
                'the run for the cosine')
        return annealing_cos(base_lr, target, (progress - self.warmup_iters) / span)


# ------------------------------------------------------------------------------------ YOLOX mode
@HOOKS.register_module()
class YOLOXModeSwitchHook(Hook):
    """For the last epochs of YOLOX: skip the mixing transforms and turn on the head's L1 loss.

    At ``before_train_epoch`` of epoch ``max_epochs - num_last_epochs - 1`` (0-based; 2.x's
    ``epoch + 1 == max_epochs - num_last_epochs``), ``data_loader.dataset.update_skip_type_keys(
    skip_type_keys)`` (a ``MultiImageMixDataset``) and ``bbox_head.use_l1 = True`` where the (unwrapped)
    model's head has ``use_l1``.  A run resumed past that epoch switches at its first epoch (2.28 then never
    switched).  With persistent workers the loader's worker processes, which hold a copy of the dataset,
    are shut down so that the epoch starts new ones that see the change (2.x's restart of the loader); with
    workers that are not persistent every epoch starts new ones anyway.

    Args:
        num_last_epochs (int): how many epochs at the end train without them (see above for the + 1).
        skip_type_keys (sequence[str]): the transform type names to skip.
    """

    def __init__(self, num_last_epochs=15, skip_type_keys=('Mosaic', 'RandomAffine', 'MixUp')):
        if isinstance(num_last_epochs, bool) or not isinstance(num_last_epochs, int) or num_last_epochs < 0:
            raise InvalidArgumentError(f'YOLOXModeSwitchHook: num_last_epochs must be an int >= 0, '
                                       f'got {num_last_epochs!r}')
        self.num_last_epochs = num_last_epochs
        self.skip_type_keys = list(skip_type_keys)
        self._switched = False

    def before_train_epoch(self, runner):
        if self._switched or not _switch_epoch(runner, self.num_last_epochs):
            return
        self._switched = True
        loader = runner.data_loader
        dataset = loader.dataset
        if not hasattr(dataset, 'update_skip_type_keys'):
            raise AttributeError(f'YOLOXModeSwitchHook: the training dataset ({type(dataset).__name__}) has no '
                                 "update_skip_type_keys; wrap it in dict(type='MultiImageMixDataset', ...)")
        runner.logger.info('No mosaic and mixup aug now!')
        dataset.update_skip_type_keys(self.skip_type_keys)
        self._restart_workers(loader)
        head = getattr(bare_model(runner.model), 'bbox_head', None)
        if head is not None and hasattr(head, 'use_l1'):
            head.use_l1 = True
            runner.logger.info('Add additional L1 loss now!')
        else:
            runner.logger.info('YOLOXModeSwitchHook: the model has no bbox_head.use_l1; no L1 loss to add')

    @staticmethod
    def _restart_workers(loader):
        """A persistent-workers DataLoader keeps its iterator (and the workers' dataset copies) between
        epochs; drop it so that the next ``iter(loader)`` forks workers from the updated dataset."""
        iterator = getattr(loader, '_iterator', None)
        if not getattr(loader, 'persistent_workers', False) or iterator is None:
            return
        loader._iterator = None
        shutdown = getattr(iterator, '_shutdown_workers', None)
        if shutdown is not None:
            shutdown()


# ------------------------------------------------------------------------------------- sync norm
def norm_buffers(module):
    """``{name: tensor}`` of the floating-point buffers (running mean and variance) of every norm layer."""
    out = {}
    for name, child in module.named_modules():
        if isinstance(child, nn.modules.batchnorm._NormBase):
            for key, buf in child.named_buffers(recurse=False):
                if buf is not None and buf.is_floating_point():
                    out[f'{name}.{key}' if name else key] = buf
    return out


@HOOKS.register_module()
class SyncNormHook(Hook):
    """Average the norm layers' running statistics over the ranks after a training epoch (YOLOX: each
    rank's BatchNorm sees only its own batches).  Every ``interval`` epochs (``(epoch + 1) % interval
    == 0``), and after every one of the last ``num_last_epochs + 1`` epochs (2.x sets ``interval = 1`` at
    YOLOXModeSwitchHook's epoch).  Nothing happens in a single process or with a world size of 1.

    Args:
        num_last_epochs (int): see above.
        interval (int): the epochs between two synchronisations before then.
    """

    def __init__(self, num_last_epochs=15, interval=1):
        if isinstance(interval, bool) or not isinstance(interval, int) or interval <= 0:
            raise InvalidArgumentError(f'SyncNormHook: interval must be a positive int, got {interval!r}')
        self.num_last_epochs, self.interval = num_last_epochs, interval

    def after_train_epoch(self, runner):
        interval = 1 if _switch_epoch(runner, self.num_last_epochs) else self.interval
        if (runner.epoch + 1) % interval:
            return
        # one all-reduce for all of them (2.x's all_reduce_dict(..., op='mean'))
        average_over_ranks_(list(norm_buffers(bare_model(runner.model)).values()))


# ------------------------------------------------------------------------------ the others
@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Every ``interval`` iterations, stop with :class:`NonFiniteLossError` if ``runner.outputs['loss']``
    is NaN or infinite (2.x's SSD configs; the OptimizerHook checks every iteration as well).

    Args:
        interval (int): the iterations between two checks.
    """

    def __init__(self, interval=50):
        self.interval = interval

    def after_train_iter(self, runner):
        if not self.every_n_iters(runner, self.interval):
            return
        loss = runner.outputs.get('loss') if isinstance(runner.outputs, dict) else None
        if loss is None:
            raise KeyError("CheckInvalidLossHook: runner.outputs has no 'loss' (train_step must return one)")
        loss = torch.as_tensor(loss).detach()
        if not bool(torch.isfinite(loss).all()):
            raise NonFiniteLossError(f'CheckInvalidLossHook: loss became infinite or NaN ({loss.tolist()}) at '
                                     f'epoch {runner.epoch + 1}, iteration {runner.inner_iter + 1} '
                                     f'(global {runner.iter + 1})')


@HOOKS.register_module()
class SetEpochInfoHook(Hook):
    """``model.set_epoch(runner.epoch)`` (the unwrapped model) before every training epoch (2.x's TOOD:
    its head switches from the initial to the task-aligned assigner).  A model without ``set_epoch`` is
    warned about once."""

    def __init__(self):
        self._warned = False

    def before_train_epoch(self, runner):
        model = bare_model(runner.model)
        if hasattr(model, 'set_epoch'):
            model.set_epoch(runner.epoch)
        elif not self._warned:
            self._warned = True
            runner.logger.warning(f'SetEpochInfoHook: {type(model).__name__} has no set_epoch; nothing to set')


@HOOKS.register_module()
class MemoryProfilerHook(Hook):
    """Log the machine's memory and swap and this process's resident memory every ``interval`` iterations
    (training and validation ones, as 2.x), with psutil (2.x read the process's with memory_profiler).

    Args:
        interval (int): the iterations between two log lines.
    """

    def __init__(self, interval=50):
        try:
            import psutil
        except ImportError as e:
            raise ImportError('MemoryProfilerHook needs psutil, which is not installed; install it with: '
                              'pip install psutil') from e
        self._psutil = psutil
        self._process = psutil.Process()
        self.interval = interval

    def after_iter(self, runner):
        if not self.every_n_iters(runner, self.interval):
            return
        vm, swap = self._psutil.virtual_memory(), self._psutil.swap_memory()
        mb = 1024 * 1024
        rss = self._process.memory_info().rss
        runner.logger.info(
            'Memory information '
            f'available_memory: {round(vm.available / mb)} MB, '
            f'used_memory: {round(vm.used / mb)} MB, '
            f'memory_utilization: {vm.percent} %, '
            f'available_swap_memory: {round((swap.total - swap.used) / mb)} MB, '
            f'used_swap_memory: {round(swap.used / mb)} MB, '
            f'swap_memory_utilization: {swap.percent} %, '
            f'current_process_memory: {round(rss / mb)} MB')


__all__ = ['YOLOXLrUpdaterHook', 'YOLOXModeSwitchHook', 'SyncNormHook', 'CheckInvalidLossHook', 'SetEpochInfoHook',
           'MemoryProfilerHook', 'bare_model', 'norm_buffers']
