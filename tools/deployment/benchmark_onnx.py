#!/usr/bin/env python
"""Time an exported model in onnxruntime against the PyTorch model on one image.

    python tools/deployment/benchmark_onnx.py CONFIG MODEL.onnx [--checkpoint CKPT] [--img demo/demo.jpg]
        [--threads 2] [--runs 3]

Prints the median seconds per image of each after one warm-up run, and whether
their detections agree (same count per class, boxes within 0.01 px, scores
within 1e-4).
"""
import argparse
import os.path as osp
import platform
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmdet.apis import init_detector  # noqa: E402
from mmdet.apis.inference import prepare_test_data  # noqa: E402
from mmdet.parallel import unwrap  # noqa: E402
from mmdet.deployment import ONNXRuntimeDetector, compare_results  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def median_time(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description='onnxruntime vs PyTorch on one image')
    p.add_argument('config')
    p.add_argument('model', help='the .onnx file')
    p.add_argument('--checkpoint', default=None, help='the PyTorch checkpoint it was exported from')
    p.add_argument('--img', default=osp.join(ROOT, 'demo', 'demo.jpg'))
    p.add_argument('--threads', type=int, default=torch.get_num_threads())
    p.add_argument('--runs', type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = init_detector(args.config, args.checkpoint, device='cpu')
    ort = ONNXRuntimeDetector(args.model, model.cfg, threads=args.threads)
    data = unwrap(prepare_test_data(model.cfg, args.img))
    meta = dict(data['img_metas'][0], batch_input_shape=tuple(data['img'][0].shape[-2:]))
    x = data['img'][0][None]

    def run_torch():
        with torch.no_grad():
            return model.simple_test(x, [meta], rescale=True)[0]
    ok, msg = compare_results(run_torch(), ort.test_data(data))
    t_torch, t_ort = median_time(run_torch, args.runs), median_time(lambda: ort.test_data(data), args.runs)
    print(f'{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}, '
          f'input {tuple(x.shape)}')
    print(f'pytorch {t_torch:.3f} s/img, onnxruntime {t_ort:.3f} s/img (median of {args.runs})')
    print(f"detections {'agree' if ok else 'DIFFER'}: {msg}")


if __name__ == '__main__':
    main()
