#!/usr/bin/env python
"""Precision, recall and F1 against the score threshold, per class and overall, and the best-F1
threshold of each class.

    python tools/analysis_tools/score_thresholds.py CONFIG RESULTS.pkl OUT_DIR [--match-iou 0.5] [--steps 101]

Writes ``OUT_DIR/score_thresholds.json`` and ``OUT_DIR/score_thresholds.png``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.core.evaluation.thresholds import score_thresholds  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Precision / recall / F1 against the score threshold')
    p.add_argument('config', help='the config the results were made with')
    p.add_argument('prediction_path', help='results from tools/test.py --out')
    p.add_argument('out_dir', help='where to write score_thresholds.{json,png}')
    p.add_argument('--match-iou', type=float, default=0.5, help='least IoU of a true positive (default 0.5)')
    p.add_argument('--steps', type=int, default=101, help='thresholds evenly spaced over [0, 1] (default 101)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    if args.steps < 2:
        p.error('--steps must be at least 2')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.prediction_path, dataset)
    anns = [dataset.get_ann_info(i) for i in range(len(dataset))]
    curves = score_thresholds(results, anns, dataset.CLASSES, args.out_dir, args.match_iou,
                              np.linspace(0, 1, args.steps))
    for name, cur in list(curves['per_class'].items()) + [('overall', curves['overall'])]:
        b = cur['best']
        text = 'no detections or gts' if b['thr'] is None else \
            f"best F1 {b['f1']:.3f} at score >= {b['thr']:.4f} (P {b['precision']:.3f}, R {b['recall']:.3f})"
        print(f'{name}: {text}')
    print(f'written {osp.join(args.out_dir, "score_thresholds.json")} and score_thresholds.png')


if __name__ == '__main__':
    main()
