"""``auto_scale_lr`` (MMDetection >= 2.24): the linear scaling rule (Goyal et al. 2017) for the config's lr.

``auto_scale_lr = dict(enable=True, base_batch_size=16)`` says the config's ``optimizer.lr`` was tuned for a
total batch of 16 images; a run with another total batch trains with ``lr * batch / base_batch_size``.
The total batch is ``world_size * samples_per_gpu``: the number of training processes (1 without a
launcher: one process trains on one device here, whatever ``--gpu-ids`` lists) times the images each
loads per step.  ``tools/train.py --auto-scale-lr`` switches it on (:func:`enable_auto_scale_lr`).
"""
import numbers
import warnings

from mmdet.utils import InvalidArgumentError, get_dist_info, get_root_logger


def scaled_lr(lr, batch_size, base_batch_size):
    """``lr * batch_size / base_batch_size``."""
    return lr * batch_size / base_batch_size


def train_samples_per_gpu(cfg):
    """Images per process per step: ``data.train_dataloader.samples_per_gpu`` (2.x's later form) when set,
    else ``data.samples_per_gpu``."""
    data = cfg.get('data') or {}
    loader_cfg = data.get('train_dataloader') or {}
    value = loader_cfg.get('samples_per_gpu', data.get('samples_per_gpu'))
    if value is None:
        raise KeyError('auto_scale_lr needs data.samples_per_gpu (the images per GPU of a training step)')
    return value


def auto_scale_lr(cfg, distributed, logger=None, samples_per_gpu=None, world_size=None):
    """Scale ``cfg.optimizer.lr`` in place for this run's total batch, as ``cfg.auto_scale_lr`` asks.

    Nothing happens (an info line says so) without ``auto_scale_lr`` or with ``enable=False``.  Call it once,
    before the optimizer is built.

    Args:
        cfg (Config): the training config; ``cfg.optimizer.lr`` is overwritten.
        distributed (bool): a launcher started one process per device.
        logger (logging.Logger | None): where the arithmetic is logged (the root logger by default).
        samples_per_gpu (int | None): the images per process per step the training loader really uses
            (default: :func:`train_samples_per_gpu`).
        world_size (int | None): the number of training processes (default: the process group's size
            when ``distributed``, else 1).

    Returns:
        float | None: the learning rate trained with, None where scaling is off.
    """
    logger = logger or get_root_logger()
    settings = cfg.get('auto_scale_lr')
    if not settings or not settings.get('enable', False):
        logger.info('Automatic scaling of learning rate (LR) has been disabled.')
        return None
    base = settings.get('base_batch_size')
    if base is None:
        raise KeyError('auto_scale_lr.enable=True needs auto_scale_lr.base_batch_size: the total batch the '
                       "config's optimizer.lr is meant for (16 for the 8 GPUs x 2 images of the released "
                       'schedules)')
    if isinstance(base, bool) or not isinstance(base, numbers.Integral) or base <= 0:
        raise InvalidArgumentError(f'auto_scale_lr.base_batch_size must be a positive int, got {base!r}')
    if 'lr' not in (cfg.get('optimizer') or {}):
        raise KeyError('auto_scale_lr needs optimizer.lr to scale')
    if world_size is None:
        world_size = get_dist_info()[1] if distributed else 1
    samples_per_gpu = train_samples_per_gpu(cfg) if samples_per_gpu is None else samples_per_gpu
    batch_size = world_size * samples_per_gpu
    logger.info(f'Training with {world_size} GPU(s) with {samples_per_gpu} samples per GPU. '
                f'The total batch size is {batch_size}.')
    lr = cfg.optimizer.lr
    if batch_size == base:
        logger.info(f'The batch size matches the base batch size: {base}, will not scale the LR ({lr}).')
        return lr
    new_lr = scaled_lr(lr, batch_size, base)
    logger.info(f'LR has been automatically scaled from {lr} to {new_lr} '
                f'(x {batch_size} / {base}: the linear scaling rule)')
    cfg.optimizer.lr = new_lr
    return new_lr


def enable_auto_scale_lr(cfg):
    """``tools/train.py --auto-scale-lr``: set ``cfg.auto_scale_lr.enable = True``.  A config without
    ``auto_scale_lr.base_batch_size`` (every config before 2.24, the original VFNet ones included) cannot be
    scaled: a warning says what to add and False is returned; the run keeps the config's lr."""
    settings = cfg.get('auto_scale_lr')
    if not settings or settings.get('base_batch_size') is None:
        warnings.warn('--auto-scale-lr: the config has no auto_scale_lr.base_batch_size, so the lr is not '
                      'scaled; add auto_scale_lr = dict(enable=True, base_batch_size=16) (the total batch '
                      "optimizer.lr was tuned for; 16 for the released 8 GPUs x 2 images schedules)")
        return False
    settings['enable'] = True
    return True
