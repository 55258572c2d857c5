"""Train a detector as a 2.x config describes it, then the optional SWA stage."""
import copy
import os.path as osp
import random

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from mmdet.datasets import build_dataloader, build_dataset
from mmdet.runner import AmpState, build_optimizer, build_runner, register_config_hooks
from mmdet.runner.hooks import EvalHook, SWAHook
from mmdet.utils import barrier, broadcast_object, get_dist_info, get_root_logger, is_dist


def set_random_seed(seed, deterministic=False):
    """Seed python, numpy and torch; ``deterministic`` also makes cuDNN and torch ops deterministic."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def default_device():
    if torch.cuda.is_available():
        return torch.device('cuda', torch.cuda.current_device())
    return torch.device('cpu')


def _wrap(model, distributed, device, cfg):
    model = model.to(device)
    if distributed:
        kwargs = dict(find_unused_parameters=cfg.get('find_unused_parameters', False), broadcast_buffers=False)
        if device.type == 'cuda':
            kwargs['device_ids'] = [device.index]
        model = DistributedDataParallel(model, **kwargs)
    return model


def _eval_hook(cfg, distributed, by_epoch):
    val_cfg = copy.deepcopy(cfg.data.val)
    val_samples = val_cfg.pop('samples_per_gpu', 1)
    val_dataset = build_dataset(val_cfg, dict(test_mode=True))
    loader = build_dataloader(val_dataset, samples_per_gpu=val_samples, workers_per_gpu=cfg.data.workers_per_gpu,
                              dist=distributed, shuffle=False)
    eval_cfg = dict(cfg.get('evaluation', {}))
    eval_cfg['by_epoch'] = by_epoch
    if cfg.get('swa_training') and str(cfg.get('swa_load_from', '')).startswith('best_bbox_mAP'):
        # as the original, the main stage keeps its best model for the SWA stage
        # even when the config's evaluation does not ask for it
        eval_cfg.setdefault('save_best', 'bbox_mAP')
    return EvalHook(loader, distributed=distributed, **eval_cfg)


def _runner_cfg(cfg, key='runner', epochs_key='total_epochs'):
    if cfg.get(key) is None:
        # 2.x before 2.7 wrote total_epochs
        if cfg.get(epochs_key) is None:
            raise KeyError(f"config needs {key}=dict(type='EpochBasedRunner', max_epochs=N)")
        return dict(type='EpochBasedRunner', max_epochs=cfg[epochs_key])
    return dict(cfg[key])


def train_detector(model, dataset, cfg, distributed=None, validate=False, timestamp=None, meta=None, device=None):
    """Train ``model`` on ``dataset`` (a dataset or a list per workflow step)."""
    logger = get_root_logger(log_level=cfg.get('log_level', 'INFO'))
    distributed = is_dist() if distributed is None else distributed
    device = device or default_device()
    datasets = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    seed = cfg.get('seed')
    loaders = [build_dataloader(ds, cfg.data.samples_per_gpu, cfg.data.workers_per_gpu, dist=distributed, seed=seed,
                                persistent_workers=False) for ds in datasets]
    amp = _amp_state(cfg, device)
    wrapped = _wrap(model, distributed, device, cfg)
    runner_cfg = _runner_cfg(cfg)
    by_epoch = runner_cfg['type'] != 'IterBasedRunner'
    runner = build_runner(runner_cfg, dict(model=wrapped, optimizer=build_optimizer(wrapped, cfg.optimizer),
                                           work_dir=cfg.work_dir, logger=logger, meta=meta, amp=amp, device=device,
                                           seed=seed))
    runner.timestamp = timestamp or runner.timestamp
    register_config_hooks(runner, cfg.lr_config, cfg.get('optimizer_config', {}), cfg.get('checkpoint_config'),
                          cfg.get('log_config'), cfg.get('custom_hooks'), by_epoch, distributed)
    if cfg.get('momentum_config'):
        logger.warning('momentum_config is not supported by this toolbox and is ignored '
                       '(no seed config uses it); momentum stays as set in optimizer=')
    eval_hook = _eval_hook(cfg, distributed, by_epoch) if validate else None
    if eval_hook is not None:
        runner.register_hook(eval_hook)
    workflow = [tuple(w) for w in cfg.get('workflow', [('train', 1)])]
    if len(workflow) != len(loaders):
        raise ValueError(f'workflow {workflow} has {len(workflow)} steps but {len(loaders)} datasets were built')

    only_swa = cfg.get('only_swa_training', False)
    if not only_swa:
        if cfg.get('resume_from'):
            runner.resume(cfg.resume_from)
        elif cfg.get('load_from'):
            runner.load_checkpoint(cfg.load_from)
        runner.run(loaders, workflow)
    if cfg.get('swa_training', False):
        train_swa(model, loaders, cfg, distributed, validate, runner.timestamp, meta, device, logger, wrapped)
    return runner


def _amp_state(cfg, device):
    fp16 = cfg.get('fp16')
    return AmpState(device, fp16.get('loss_scale', 'dynamic')) if fp16 else None


def _pick_swa_start(cfg, logger):
    """``swa_load_from`` as a file: as given, or inside the work dir; falls back to
    ``latest.pth`` of the main stage (e.g. under --no-validate no best model exists)."""
    name = cfg.get('swa_load_from')
    candidates = [name, osp.join(cfg.work_dir, name)] if name else []
    for c in candidates:
        if c and osp.isfile(c):
            return c
    latest = osp.join(cfg.work_dir, 'latest.pth')
    if osp.isfile(latest):
        if name:
            logger.warning(f"swa_load_from '{name}' not found (no best model without validation?); "
                           f'starting SWA from {latest}')
        return latest
    raise FileNotFoundError(f"SWA stage: swa_load_from '{name}' not found, and no {latest} to start from")


def swa_start_checkpoint(cfg, logger):
    """The SWA stage's start file, the same on every rank: once all ranks are here, rank 0 (which alone
    evaluates and writes ``best_*.pth``) has written the main stage's last checkpoints, and its choice is
    broadcast; without the barrier the others could read an older best model or ``latest.pth``."""
    barrier()
    if get_dist_info()[0] == 0:
        try:
            choice = (_pick_swa_start(cfg, logger), None)
        except FileNotFoundError as e:
            choice = (None, str(e))
    else:
        choice = None
    path, error = broadcast_object(choice)
    if error is not None:
        raise FileNotFoundError(error)
    return path


def train_swa(model, loaders, cfg, distributed, validate, timestamp, meta, device, logger, wrapped=None):
    """The SWA stage: a fresh optimizer with a cyclic lr for ``swa_runner.max_epochs``
    epochs from ``swa_load_from``, averaging the weights every ``swa_interval`` epochs."""
    logger.info('Start SWA training')
    wrapped = wrapped if wrapped is not None else _wrap(model, distributed, device, cfg)
    swa_opt_cfg = dict(cfg.get('swa_optimizer') or cfg.optimizer)
    swa_opt_cfg.setdefault('type', 'SGD')
    optimizer = build_optimizer(wrapped, swa_opt_cfg)
    runner_cfg = _runner_cfg(cfg, 'swa_runner', 'swa_total_epochs')
    runner = build_runner(runner_cfg, dict(model=wrapped, optimizer=optimizer, work_dir=cfg.work_dir, logger=logger,
                                           meta=meta, amp=_amp_state(cfg, device),
                                           device=device, seed=cfg.get('seed')))
    runner.timestamp = timestamp
    runner.latest_name = 'swa_latest.pth'
    lr_cfg = dict(cfg.get('swa_lr_config') or dict(policy='cyclic', target_ratio=(1, 0.01),
                                                  cyclic_times=runner_cfg['max_epochs'], step_ratio_up=0.0))
    register_config_hooks(runner, lr_cfg, cfg.get('swa_optimizer_config', cfg.get('optimizer_config', {})),
                          cfg.get('swa_checkpoint_config', dict(interval=1, filename_tmpl='swa_epoch_{}.pth')),
                          cfg.get('log_config'), None, True, distributed)
    eval_hook = _eval_hook(cfg, distributed, True) if validate else None
    if eval_hook is not None:
        eval_hook.save_best = None
    runner.register_hook(SWAHook(cfg.get('swa_interval', 1), eval_hook))
    if cfg.get('swa_resume_from'):
        runner.resume(cfg.swa_resume_from)
    else:
        runner.load_checkpoint(swa_start_checkpoint(cfg, logger))
    workflow = [('train', 1)]
    runner.run(loaders[:1], workflow)
    return runner
