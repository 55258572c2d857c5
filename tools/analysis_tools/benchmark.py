#!/usr/bin/env python
"""Inference speed on the test set: ``python tools/analysis_tools/benchmark.py CONFIG CKPT``."""
import argparse
import copy
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmdet.apis.train import default_device  # noqa: E402
from mmdet.datasets import build_dataloader, build_dataset  # noqa: E402
from mmdet.models import build_detector  # noqa: E402
from mmdet.runner import load_checkpoint, to_device  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description='Benchmark inference speed')
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', help='optional: random weights are as fast as trained ones')
    p.add_argument('--max-iter', type=int, default=200)
    p.add_argument('--log-interval', type=int, default=50)
    p.add_argument('--num-warmup', type=int, default=5)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = p.parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.pretrained = None
    test_cfg = copy.deepcopy(cfg.data.test)
    test_cfg.pop('samples_per_gpu', None)
    dataset = build_dataset(test_cfg, dict(test_mode=True))
    loader = build_dataloader(dataset, 1, cfg.data.workers_per_gpu, dist=False, shuffle=False)
    cfg.model.train_cfg = None
    model = build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    device = default_device()
    model = model.to(device).eval()
    pure, done = 0.0, 0
    for i, data in enumerate(loader):
        data = to_device(data, device)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.no_grad():
            model(return_loss=False, rescale=True, **data)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        if i >= args.num_warmup:
            pure += time.perf_counter() - t
            done += 1
            if done % args.log_interval == 0:
                print(f'Done image [{done:<3}/ {args.max_iter}], fps: {done / pure:.2f} img / s')
        if done >= args.max_iter:
            break
    if done == 0:
        raise ValueError(f'the test set has only {len(dataset)} images; fewer than --num-warmup + 1')
    print(f'Overall fps: {done / pure:.2f} img / s over {done} images on {device}')


if __name__ == '__main__':
    main()
