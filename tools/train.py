#!/usr/bin/env python
"""Train a detector: ``python tools/train.py CONFIG [--work-dir DIR] ...``."""
import argparse
import os
import os.path as osp
import sys
import time
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

import mmdet  # noqa: E402
from mmdet.apis import set_random_seed, train_detector  # noqa: E402
from mmdet.datasets import AnnotationError, build_dataset  # noqa: E402
from mmdet.datasets.builder import val_workflow_cfg  # noqa: E402
from mmdet.datasets.check import check_dataset_cfg  # noqa: E402
from mmdet.models import build_detector  # noqa: E402
from mmdet.runner.auto_scale_lr import enable_auto_scale_lr  # noqa: E402
from mmdet.utils import DictAction, dist_kwargs, get_dist_info, get_root_logger, init_dist  # noqa: E402
from mmdet.utils.cli import load_config, main_guard, take_deprecated_option  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a detector')
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='the dir to save logs and models')
    p.add_argument('--resume-from', help='the checkpoint file to resume from')
    p.add_argument('--auto-resume', action='store_true', help='resume from latest.pth in the work dir if present')
    p.add_argument('--no-validate', action='store_true', help='do not evaluate checkpoints during training')
    p.add_argument('--skip-data-check', action='store_true',
                   help='skip the fast annotation check of data.train before training (tools/misc/check_dataset.py)')
    group_gpus = p.add_mutually_exclusive_group()
    group_gpus.add_argument('--gpus', type=int, help='number of gpus to use (only applicable to non-distributed '
                            'training; one process uses one GPU here, see tools/dist_train.sh for more)')
    group_gpus.add_argument('--gpu-ids', type=int, nargs='+', help='ids of gpus to use (only applicable to '
                            'non-distributed training; one process trains on the first)')
    p.add_argument('--seed', type=int, default=None, help='random seed')
    p.add_argument('--deterministic', action='store_true', help='deterministic algorithms (cuDNN and torch)')
    p.add_argument('--auto-scale-lr', action='store_true', help='scale optimizer.lr by the total batch size / '
                   'auto_scale_lr.base_batch_size (the linear scaling rule)')
    p.add_argument('--options', nargs='+', action=DictAction,
                   help='override config settings (deprecated, change to --cfg-options instead)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. data.samples_per_gpu=4 optimizer.lr=0.005')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    take_deprecated_option(p, args, 'options', 'cfg_options')
    return args


def select_device(args, distributed):
    """The device of a non-distributed run and the 2.x ``cfg.gpu_ids`` (None when
    neither --gpus nor --gpu-ids was given).  MMDetection 2.x wrapped the model in
    single-process DataParallel over all ``gpu_ids``; here one process trains on
    one device, so more than one GPU means the first, with a warning."""
    if args.gpu_ids is None and args.gpus is None:
        return None, None
    gpu_ids = list(args.gpu_ids) if args.gpu_ids is not None else list(range(args.gpus))
    if distributed:
        warnings.warn('--gpus/--gpu-ids only apply to non-distributed training; with a launcher each process '
                      'uses the GPU of its local rank')
        return None, gpu_ids
    if not gpu_ids:
        return torch.device('cpu'), gpu_ids  # --gpus 0
    if not torch.cuda.is_available():
        warnings.warn(f'--gpus/--gpu-ids {gpu_ids}: no CUDA device is available, training on the CPU')
        return torch.device('cpu'), gpu_ids
    bad = [i for i in gpu_ids if not 0 <= i < torch.cuda.device_count()]
    if bad:
        sys.exit(f'error: --gpu-ids {bad}: only {torch.cuda.device_count()} CUDA device(s) are visible')
    if len(gpu_ids) > 1:
        warnings.warn(f'single-process multi-GPU training (DataParallel over {gpu_ids}) is not supported; '
                      f'training on cuda:{gpu_ids[0]}. Use tools/dist_train.sh CONFIG {len(gpu_ids)} '
                      'for one process per GPU')
    torch.cuda.set_device(gpu_ids[0])
    return torch.device('cuda', gpu_ids[0]), gpu_ids


# what the fast check stops a run for: the loader would fail later without saying why (mmdet #5568)
PREFLIGHT_FATAL = ('class_mismatch', 'no_training_data')


def preflight_check(cfg, config_path, logger):
    """The fast annotation check of ``data.train`` (no image decoding): its findings are logged as one
    warning line; classes that match no annotation stop the run with the check's explanation."""
    report = check_dataset_cfg(cfg.data.train, images=False)
    if report.findings:
        logger.warning(f'data check of data.train: {report.counts()}; the list: '
                       f'python tools/misc/check_dataset.py {config_path} --images')
    fatal = [f for f in report.errors if f['kind'] in PREFLIGHT_FATAL]
    if fatal:
        raise AnnotationError('data.train cannot train: ' + '; '.join(f['message'] for f in fatal)
                         + ' (or pass --skip-data-check)')


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    if args.auto_resume or cfg.get('auto_resume'):
        latest = osp.join(cfg.work_dir, 'latest.pth')
        if osp.isfile(latest) and not cfg.get('resume_from'):
            cfg.resume_from = latest
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dist_kwargs(cfg.get('dist_params')))
    device, gpu_ids = select_device(args, distributed)
    if gpu_ids is not None:
        # as 2.x: the ids given, or range(world size) when distributed
        cfg.gpu_ids = list(range(get_dist_info()[1])) if distributed else gpu_ids
    os.makedirs(osp.abspath(cfg.work_dir), exist_ok=True)
    cfg.dump(osp.join(cfg.work_dir, osp.basename(args.config)))
    timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    logger = get_root_logger(log_file=osp.join(cfg.work_dir, f'{timestamp}.log'), log_level=cfg.get('log_level', 'INFO'))
    logger.info(f'Distributed training: {distributed}')
    logger.info(f'Config:\n{cfg.pretty_text}')

    seed = args.seed if args.seed is not None else cfg.get('seed')
    if seed is not None:
        logger.info(f'Set random seed to {seed}, deterministic: {args.deterministic}')
        set_random_seed(seed, deterministic=args.deterministic)
    cfg.seed = seed
    meta = dict(seed=seed, exp_name=osp.basename(args.config), config=cfg.pretty_text, mmdet_version=mmdet.__version__)

    if not args.skip_data_check:
        preflight_check(cfg, args.config, logger)
    model = build_detector(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    datasets = [build_dataset(cfg.data.train)]
    if len(cfg.get('workflow', [])) == 2:
        datasets.append(build_dataset(val_workflow_cfg(cfg.data.train, cfg.data.val)))
    model.CLASSES = datasets[0].CLASSES
    meta['CLASSES'] = list(datasets[0].CLASSES)
    train_detector(model, datasets, cfg, distributed=distributed, validate=not args.no_validate,
                   timestamp=timestamp, meta=meta, device=device)


if __name__ == '__main__':
    main()
