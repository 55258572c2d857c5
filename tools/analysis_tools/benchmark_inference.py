#!/usr/bin/env python
"""Batched vs one-by-one inference speed on a folder (or glob, or video):

    python tools/analysis_tools/benchmark_inference.py CONFIG CKPT INPUTS [--batch-size 2 4 8] [--device cuda:0]

End to end as :class:`mmdet.apis.DetInferencer` runs it (image reading, test pipeline, forward pass,
results; nothing written): images/s at batch size 1 (one by one) and at each ``--batch-size``, after a
warm-up batch.  Prints the numbers only; a comparison is fair on an otherwise idle machine."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmdet.apis.det_inferencer import DetInferencer, benchmark_inference, expand_inputs  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Images/s of batched vs one-by-one inference on a folder')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file (the .onnx file with --backend onnxruntime)')
    p.add_argument('inputs', help="folder of images, glob pattern (quoted) or video file")
    p.add_argument('--batch-size', type=int, nargs='+', default=[4], help='batch sizes compared with 1')
    p.add_argument('--device', default=None, help='e.g. cpu or cuda:0 (default: CUDA when there is one)')
    p.add_argument('--max-images', type=int, default=0, help='use the first N images only (0: all)')
    p.add_argument('--warmup', type=int, default=1, help='untimed batches before each timed pass')
    p.add_argument('--threads', type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch')
    args = p.parse_args(argv)
    if min(args.batch_size) < 1:
        p.error('--batch-size values must be at least 1')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.backend == 'onnxruntime':
        inferencer = DetInferencer(model=args.checkpoint, config=args.config, show_progress=False)
    else:
        inferencer = DetInferencer(model=args.config, weights=args.checkpoint, device=args.device,
                                   show_progress=False)
    items, _ = expand_inputs(args.inputs)
    imgs = [img for _, img in items]
    if args.max_images:
        imgs = imgs[:args.max_images]
    sizes = [1] + [b for b in dict.fromkeys(args.batch_size) if b != 1]
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    print(f'{len(imgs)} images from {args.inputs}; {args.backend} on '
          f'{"cpu (onnxruntime)" if args.backend == "onnxruntime" else device}, torch threads '
          f'{torch.get_num_threads()}')
    rows = benchmark_inference(inferencer, imgs, batch_sizes=sizes, warmup=args.warmup)
    base = rows[0]['images_per_s']
    for r in rows:
        speedup = '' if r['batch_size'] == 1 else f', {r["images_per_s"] / base:.2f}x one by one'
        print(f'batch size {r["batch_size"]}: {r["images_per_s"]:.1f} images/s '
              f'({r["images"]} images in {r["seconds"]:.2f} s){speedup}')
    return rows


if __name__ == '__main__':
    main()
