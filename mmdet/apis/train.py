"""Train a detector as a 2.x config describes it, then the optional SWA stage."""
import copy
import glob
import os.path as osp
import random

import numpy as np
import torch

from mmdet.core.evaluation import EvalHook
from mmdet.datasets import build_dataloader, build_dataset
from mmdet.parallel import MMDataParallel, MMDistributedDataParallel
from mmdet.runner import AmpState, build_optimizer, build_runner, register_config_hooks
from mmdet.runner.auto_scale_lr import auto_scale_lr
from mmdet.runner.hooks import SWAHook
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
    """The detector in 2.x's wrapper: ``MMDistributedDataParallel`` (one process per device, gradients
    all-reduced through DDP's forward) or ``MMDataParallel``; both scatter 2.x batches and have
    ``train_step``/``val_step``, and ``runner.model.module`` is the detector, as 2.x hooks expect."""
    model = model.to(device)
    if distributed:
        kwargs = dict(find_unused_parameters=cfg.get('find_unused_parameters', False), broadcast_buffers=False)
        if device.type == 'cuda':
            kwargs['device_ids'] = [device.index]
        return MMDistributedDataParallel(model, **kwargs)
    return MMDataParallel(model, device_ids=[device.index] if device.type == 'cuda' else None)


def _eval_hook(cfg, distributed, by_epoch):
    val_cfg = copy.deepcopy(cfg.data.val)
    val_samples = val_cfg.pop('samples_per_gpu', 1)
    val_dataset = build_dataset(val_cfg, dict(test_mode=True))
    loader = build_dataloader(val_dataset, samples_per_gpu=val_samples, workers_per_gpu=cfg.data.workers_per_gpu,
                              dist=distributed, shuffle=False)
    eval_cfg = dict(cfg.get('evaluation', {}))
    eval_cfg['by_epoch'] = by_epoch
    if cfg.get('swa_training') and 'save_best' not in eval_cfg:
        key = _swa_best_key(cfg.get('swa_load_from', 'auto'))
        if key is not None:
            # as the original, the main stage keeps its best model for the SWA stage even when the
            # config's evaluation does not ask for it; for the original's 'best_bbox_mAP.pth' by the
            # first metric of the results ('bbox_mAP' for COCO, 'mAP' for VOC and other datasets)
            eval_cfg['save_best'] = key
    return EvalHook(loader, distributed=distributed, **eval_cfg)


# the original's swa_load_from: the best model by COCO box AP; read as "the best model saved"
DEFAULT_SWA_BEST = 'best_bbox_mAP.pth'


def _is_best_name(name):
    """``swa_load_from`` meaning "the main stage's best model": None, 'auto' or a bare ``best_<key>.pth``."""
    if name is None or name == 'auto':
        return True
    name = str(name)
    return osp.basename(name) == name and name.startswith('best_') and name.endswith('.pth')


def _swa_best_key(name):
    """The ``save_best`` the main stage needs for ``swa_load_from=name``: 'auto' for None, 'auto' and
    the original's ``best_bbox_mAP.pth``; ``<key>`` for another ``best_<key>.pth``; None for a path."""
    if not _is_best_name(name):
        return None
    if name is None or name in ('auto', DEFAULT_SWA_BEST):
        return 'auto'
    return name[len('best_'):-len('.pth')]


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
    auto_scale_lr(cfg, distributed, logger, samples_per_gpu=cfg.data.samples_per_gpu)
    runner_cfg = _runner_cfg(cfg)
    by_epoch = runner_cfg['type'] != 'IterBasedRunner'
    runner = build_runner(runner_cfg, dict(model=wrapped, optimizer=build_optimizer(wrapped, cfg.optimizer),
                                           work_dir=cfg.work_dir, logger=logger, meta=meta, amp=amp, device=device,
                                           seed=seed))
    runner.timestamp = timestamp or runner.timestamp
    register_config_hooks(runner, cfg.lr_config, cfg.get('optimizer_config', {}), cfg.get('checkpoint_config'),
                          cfg.get('log_config'), cfg.get('custom_hooks'), by_epoch, distributed,
                          momentum_config=cfg.get('momentum_config'))
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
        best = (eval_hook.best_ckpt if eval_hook is not None else None) or \
            runner.meta.get('hook_msgs', {}).get('best_ckpt')
        train_swa(model, loaders, cfg, distributed, validate, runner.timestamp, meta, device, logger, wrapped,
                  best_ckpt=best)
    return runner


FP16_OPTIMIZER_HOOKS = ('Fp16OptimizerHook', 'GradientCumulativeFp16OptimizerHook')


def _amp_state(cfg, device):
    """The run's mixed precision: from ``fp16=dict(loss_scale=...)`` or, as mmcv's hooks turn it on
    themselves, from ``optimizer_config=dict(type='Fp16OptimizerHook', loss_scale=512.)`` (mmcv's
    default scale 512); None for a float32 run."""
    fp16 = cfg.get('fp16')
    if fp16:
        return AmpState(device, fp16.get('loss_scale', 'dynamic'))
    opt = cfg.get('optimizer_config') or {}
    if opt.get('type') in FP16_OPTIMIZER_HOOKS:
        return AmpState(device, opt.get('loss_scale', 512.))
    return None


def _pick_swa_start(cfg, logger, recorded=None):
    """The file the SWA stage starts from (rank 0 decides).

    ``swa_load_from``: a path, or a file name inside the work dir, used when it exists.  None, 'auto' or a
    bare ``best_<key>.pth`` (the original's ``best_bbox_mAP.pth``) mean the main stage's best model: also
    ``recorded`` (the best checkpoint the eval hook saved in this run; tried first for None, 'auto' and
    ``best_bbox_mAP.pth``, so a VOC run's ``best_mAP.pth`` is taken) and else the newest ``best_*.pth`` in the
    work dir.  Without any of these, ``latest.pth`` of the main stage (e.g. under --no-validate no best model
    exists), with a warning; without that either, FileNotFoundError naming the work dir and every place looked."""
    name = cfg.get('swa_load_from', 'auto')
    work_dir = cfg.work_dir
    explicit = [] if name in (None, 'auto') else list(dict.fromkeys([str(name), osp.join(work_dir, str(name))]))
    best = _is_best_name(name)
    candidates = []  # (path, what it is)
    if best and recorded and name in (None, 'auto', DEFAULT_SWA_BEST):
        candidates.append((recorded, 'recorded'))
    candidates += [(c, 'explicit') for c in explicit]
    if best and recorded and (recorded, 'recorded') not in candidates:
        candidates.append((recorded, 'recorded'))
    looked = []
    for path, what in candidates:
        looked.append(path + (' (the best checkpoint the evaluation saved)' if what == 'recorded' else ''))
        if osp.isfile(path):
            if what == 'recorded':
                _log_best_choice(logger, name, path)
            return path
    if best:
        pattern = osp.join(work_dir, 'best_*.pth')
        looked.append(pattern)
        found = sorted((p for p in glob.glob(pattern) if osp.isfile(p)), key=osp.getmtime)
        if found:
            if len(found) > 1:
                logger.warning(f'SWA stage: several best checkpoints in {work_dir}: '
                               f'{[osp.basename(p) for p in found]}; starting from the newest, '
                               f'{osp.basename(found[-1])} (set swa_load_from to choose)')
            _log_best_choice(logger, name, found[-1])
            return found[-1]
    latest = osp.join(work_dir, 'latest.pth')
    looked.append(latest)
    if osp.isfile(latest):
        logger.warning(f"SWA stage: swa_load_from={name!r} not found (no best model: validation off, "
                       f"evaluation.save_best=None or no evaluation yet?); starting SWA from {latest}")
        return latest
    raise FileNotFoundError(
        f"SWA stage: nothing to start from for swa_load_from={name!r} in work_dir {work_dir}: looked for "
        + ', '.join(looked) + '. Train the main stage with validation (it keeps best_<metric>.pth), '
        "or set swa_load_from to a checkpoint's path")


def _log_best_choice(logger, name, path):
    if name not in (None, 'auto') and osp.basename(path) != name:
        logger.info(f"SWA stage: swa_load_from={name!r} is not in the work dir; the best checkpoint saved is "
                    f'{osp.basename(path)}: starting SWA from it')
    else:
        logger.info(f'SWA stage: starting from the best checkpoint {path}')


def swa_start_checkpoint(cfg, logger, recorded=None):
    """The SWA stage's start file, the same on every rank: once all ranks are here, rank 0 (which alone
    evaluates and writes ``best_*.pth``) has written the main stage's last checkpoints, and its choice is
    broadcast; without the barrier the others could read an older best model or ``latest.pth``.
    ``recorded``: the best checkpoint rank 0's eval hook saved in this run, if any."""
    barrier()
    if get_dist_info()[0] == 0:
        try:
            choice = (_pick_swa_start(cfg, logger, recorded), None)
        except FileNotFoundError as e:
            choice = (None, str(e))
    else:
        choice = None
    path, error = broadcast_object(choice)
    if error is not None:
        raise FileNotFoundError(error)
    return path


def train_swa(model, loaders, cfg, distributed, validate, timestamp, meta, device, logger, wrapped=None,
              best_ckpt=None):
    """The SWA stage: a fresh optimizer with a cyclic lr for ``swa_runner.max_epochs``
    epochs from ``swa_load_from`` (see :func:`_pick_swa_start`; ``best_ckpt``: the best model the
    main stage's evaluation saved), averaging the weights every ``swa_interval`` epochs."""
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
        runner.load_checkpoint(swa_start_checkpoint(cfg, logger, best_ckpt))
    workflow = [('train', 1)]
    runner.run(loaders[:1], workflow)
    return runner
