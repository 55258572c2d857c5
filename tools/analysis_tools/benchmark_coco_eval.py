#!/usr/bin/env python
"""Time COCO box evaluation with pycocotools and faster-coco-eval on a generated set.

    python tools/analysis_tools/benchmark_coco_eval.py [--images 5000] [--classes 80] [--dets 100]

Prints seconds per backend (evaluate + accumulate + summary) and checks that the
12 numbers are identical.
"""
import argparse
import contextlib
import io
import json
import os.path as osp
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.datasets import CocoDataset  # noqa: E402
from mmdet.datasets.synthetic import synthetic_detection_set  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=5000)
    p.add_argument('--classes', type=int, default=80)
    p.add_argument('--dets', type=int, default=100, help='detections per image')
    args = p.parse_args(argv)
    gt, results = synthetic_detection_set(args.images, args.classes, args.dets, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'gt.json')
        with open(path, 'w') as f:
            json.dump(gt, f)
        dataset = CocoDataset(path, pipeline=[], test_mode=True, classes=tuple(c['name'] for c in gt['categories']))
        numbers = {}
        for backend in ('pycocotools', 'faster-coco-eval'):
            start = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                numbers[backend] = dataset.evaluate(results, backend=backend)
            print(f'{backend:>16}: {time.perf_counter() - start:7.1f} s   {numbers[backend]["bbox_mAP_copypaste"]}')
    same = numbers['pycocotools'] == numbers['faster-coco-eval']
    print(f'{args.images} images x {args.classes} classes x {args.dets} detections; numbers identical: {same}')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
