#!/usr/bin/env python
"""Inference speed: ``python tools/analysis_tools/benchmark.py CONFIG [CKPT] [--fuse-conv-bn] [--amp]``.

Images come from the config's test set, or with ``--shape H W`` are random
inputs of that padded size (no dataset needed).  Prints images/s after the
warm-up, the peak memory, and the device, thread count and torch version.
"""
import argparse
import copy
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mmdet.apis import inference_autocast  # noqa: E402
from mmdet.apis.train import default_device  # noqa: E402
from mmdet.datasets import build_dataloader, build_dataset  # noqa: E402
from mmdet.models import build_detector  # noqa: E402
from mmdet.models.fuse import fuse_conv_bn  # noqa: E402
from mmdet.runner import load_checkpoint, to_device  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402
from mmdet.utils.host import peak_memory_mb  # noqa: E402


def synthetic_batches(shape, n):
    h, w = shape
    meta = dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), batch_input_shape=(h, w),
                scale_factor=np.ones(4, np.float32), flip=False, filename='random.jpg', ori_filename='random.jpg')
    gen = torch.Generator().manual_seed(0)
    for _ in range(n):
        yield dict(img=[torch.randn(1, 3, h, w, generator=gen)], img_metas=[[dict(meta)]])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Benchmark inference speed')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?',
                   help='checkpoint file (optional: random weights are as fast as trained ones)')
    p.add_argument('--max-iter', type=int, default=200)
    p.add_argument('--log-interval', type=int, default=50)
    p.add_argument('--num-warmup', type=int, default=5)
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='random inputs of this size')
    p.add_argument('--fuse-conv-bn', action='store_true', help='fold BatchNorm into the preceding convs')
    p.add_argument('--amp', action='store_true', help='mixed precision: bfloat16 on the CPU, float16 on CUDA')
    p.add_argument('--channels-last', action='store_true', help='NHWC memory format (faster oneDNN convs on CPU)')
    p.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: torch\'s)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.pretrained = None
    cfg.model.train_cfg = None
    model = build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    if args.fuse_conv_bn:
        model = fuse_conv_bn(model.eval())
    device = default_device()
    model = model.to(device).eval()
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    total = args.num_warmup + args.max_iter
    if args.shape:
        batches = synthetic_batches(args.shape, total)
    else:
        test_cfg = copy.deepcopy(cfg.data.test)
        test_cfg.pop('samples_per_gpu', None)
        dataset = build_dataset(test_cfg, dict(test_mode=True))
        batches = build_dataloader(dataset, 1, cfg.data.workers_per_gpu, dist=False, shuffle=False)
    amp = inference_autocast(device, args.amp)
    print(f'device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}'
          f'{", fused conv+bn" if args.fuse_conv_bn else ""}{", channels-last" if args.channels_last else ""}'
          f'{", amp" if args.amp else ""}')
    pure, done = 0.0, 0
    for i, data in enumerate(batches):
        data = to_device(data, device)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        t = time.perf_counter()
        with torch.inference_mode(), amp:
            model(return_loss=False, rescale=True, **data)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        if i >= args.num_warmup:
            pure += time.perf_counter() - t
            done += 1
            if done % args.log_interval == 0:
                print(f'Done image [{done:<3}/ {args.max_iter}], fps: {done / pure:.2f} img / s')
        if done >= args.max_iter:
            break
    if done == 0:
        raise ValueError('no image was timed: fewer images than --num-warmup + 1')
    print(f'Overall fps: {done / pure:.2f} img / s ({pure / done:.3f} s/img) over {done} images on {device}; '
          f'peak memory {peak_memory_mb(device):.0f} MB')


if __name__ == '__main__':
    main()
