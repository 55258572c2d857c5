#!/usr/bin/env python
"""Evaluate saved results without running the model again.

    python tools/analysis_tools/eval_metric.py CONFIG RESULTS.pkl --eval bbox [--eval-options classwise=True]

RESULTS.pkl is what ``tools/test.py CONFIG CKPT --out RESULTS.pkl`` wrote.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description='Evaluate saved detection results')
    p.add_argument('config', help='the config the results were made with')
    p.add_argument('pkl_results', help='results from tools/test.py --out')
    p.add_argument('--eval', type=str, nargs='+', required=True, help='metrics, e.g. "bbox" or "mAP"')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    p.add_argument('--eval-options', nargs='+', action=DictAction, help='e.g. classwise=True')
    args = p.parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.pkl_results, dataset)
    print(dataset.evaluate(results, metric=args.eval if len(args.eval) > 1 else args.eval[0],
                           **(args.eval_options or {})))


if __name__ == '__main__':
    main()
