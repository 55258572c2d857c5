#!/usr/bin/env python
"""Test (and evaluate) a detector: ``python tools/test.py CONFIG CKPT --eval bbox``."""
import argparse
import copy
import os
import os.path as osp
import pickle
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


import torch  # noqa: E402

from mmdet.apis import inference_autocast, multi_gpu_test, single_gpu_test  # noqa: E402
from mmdet.apis.train import default_device  # noqa: E402
from mmdet.core.evaluation.eval_hooks import EVAL_HOOK_KEYS  # noqa: E402  (the hook's own keys)
from mmdet.datasets import build_dataloader, build_dataset  # noqa: E402
from mmdet.models import build_detector  # noqa: E402
from mmdet.models.fuse import fuse_conv_bn  # noqa: E402
from mmdet.runner import load_checkpoint  # noqa: E402
from mmdet.utils import DictAction, dist_kwargs, get_dist_info, init_dist  # noqa: E402
from mmdet.utils.cli import load_config, main_guard, take_deprecated_option  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test (and eval) a detector')
    p.add_argument('config', help='test config file path')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--out', help='output result file in pickle format')
    p.add_argument('--fuse-conv-bn', action='store_true', help='fold BN into convs (faster inference)')
    p.add_argument('--channels-last', action='store_true', help='NHWC memory format (faster convs on CPU)')
    p.add_argument('--amp', action='store_true', help='mixed precision: bfloat16 autocast on the CPU, float16 on CUDA')
    p.add_argument('--format-only', action='store_true', help='only write the result files (e.g. for the test server)')
    p.add_argument('--eval', type=str, nargs='+', help='metrics, e.g. "bbox" (COCO) or "mAP" (custom datasets)')
    p.add_argument('--show', action='store_true', help='show results (needs a display; prefer --show-dir)')
    p.add_argument('--show-dir', help='directory to write drawn images into')
    p.add_argument('--show-score-thr', type=float, default=0.3, help='score threshold for drawing')
    p.add_argument('--gpu-collect', action='store_true',
                   help='(accepted; the ranks\' results are gathered in memory either way)')
    p.add_argument('--tmpdir', help='(accepted; the ranks\' results are gathered in memory, no directory is used)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    p.add_argument('--options', nargs='+', action=DictAction,
                   help='custom options for evaluation (deprecated, change to --eval-options instead)')
    p.add_argument('--eval-options', nargs='+', action=DictAction, help='e.g. classwise=True jsonfile_prefix=./res')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    take_deprecated_option(p, args, 'options', 'eval_options')
    if not (args.out or args.eval or args.format_only or args.show or args.show_dir):
        p.error('say what to do with the results: --out, --eval, --format-only, --show or --show-dir')
    if args.show:
        if not (args.out or args.eval or args.format_only or args.show_dir):
            p.error('--show needs a display, which this build cannot open (OpenCV headless); '
                    'use --show-dir DIR to write the drawn images')
        warnings.warn('--show needs a display, which this build cannot open (OpenCV headless); nothing is shown'
                      + (f', the drawings go to {args.show_dir}' if args.show_dir else '; use --show-dir DIR'))
    if args.eval and args.format_only:
        p.error('--eval and --format-only cannot be both specified')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        p.error('--out must be a .pkl file')
    return args


# the keys of the config's ``evaluation`` that configure the EvalHook, not dataset.evaluate()
def eval_kwargs(cfg, metrics, eval_options=None):
    """As 2.x: the config's ``evaluation`` options (less the hook's own), the
    metrics of --eval, then --eval-options."""
    kwargs = {k: v for k, v in dict(cfg.get('evaluation') or {}).items() if k not in EVAL_HOOK_KEYS}
    kwargs['metric'] = metrics if len(metrics) > 1 else metrics[0]
    kwargs.update(eval_options or {})
    return kwargs


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.pretrained = None
    if cfg.model.get('backbone', {}).get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dist_kwargs(cfg.get('dist_params')))
    test_cfg = copy.deepcopy(cfg.data.test)
    samples_per_gpu = test_cfg.pop('samples_per_gpu', 1)
    dataset = build_dataset(test_cfg, dict(test_mode=True))
    loader = build_dataloader(dataset, samples_per_gpu=samples_per_gpu, workers_per_gpu=cfg.data.workers_per_gpu,
                              dist=distributed, shuffle=False)
    cfg.model.train_cfg = None
    model = build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))
    ckpt = load_checkpoint(model, args.checkpoint, map_location='cpu')
    if args.fuse_conv_bn:
        model = fuse_conv_bn(model)
    classes = ckpt.get('meta', {}).get('CLASSES')
    model.CLASSES = tuple(classes) if classes is not None else dataset.CLASSES
    device = default_device()
    model = model.to(device).eval()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    with inference_autocast(device, args.amp):
        if distributed:
            outputs = multi_gpu_test(model, loader, args.tmpdir, args.gpu_collect)
        else:
            outputs = single_gpu_test(model, loader, False, args.show_dir, args.show_score_thr)
    rank, _ = get_dist_info()
    if rank != 0:
        return
    if args.out:
        print(f'\nwriting results to {args.out}')
        with open(args.out, 'wb') as f:
            pickle.dump(outputs, f)
    kwargs = args.eval_options or {}
    if args.format_only:
        files, _ = dataset.format_results(outputs, **kwargs)
        print(f'result files: {files}')
    if args.eval:
        print(dataset.evaluate(outputs, **eval_kwargs(cfg, args.eval, kwargs)))


if __name__ == '__main__':
    main()
