#!/usr/bin/env python
"""Oracle experiments of the VarifocalNet paper (Table 1) on saved results: the COCO box AP when
scores become IoUs (gt_iou), matched detections get score 1 (gt_cls), matched boxes become their
gt boxes (gt_bbox), and their combinations, next to the baseline.

    python tools/analysis_tools/oracle_eval.py CONFIG RESULTS.pkl OUT_DIR [--match-iou 0.5]
        [--experiments baseline gt_iou gt_cls+gt_iou ...]

Writes ``OUT_DIR/oracle.json`` and ``OUT_DIR/oracle.png`` (a bar per experiment).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.core.evaluation.oracle import DEFAULT_EXPERIMENTS, oracle_eval, parse_oracle  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Oracle AP experiments (VarifocalNet Table 1)')
    p.add_argument('config', help='the config the results were made with')
    p.add_argument('prediction_path', help='results from tools/test.py --out')
    p.add_argument('out_dir', help='where to write oracle.{json,png}')
    p.add_argument('--match-iou', type=float, default=0.5, help='least IoU of a match (default 0.5)')
    p.add_argument('--experiments', nargs='+', default=list(DEFAULT_EXPERIMENTS),
                   help="'baseline' or '+'-joined oracles of gt_bbox, gt_cls, gt_iou (default: all)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    for e in args.experiments:
        try:
            parse_oracle(e)
        except ValueError as err:
            p.error(str(err))
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.prediction_path, dataset)
    aps = oracle_eval(results, dataset, args.out_dir, args.experiments, args.match_iou)
    width = max(len(n) for n in aps)
    for name, m in aps.items():
        print(f"{name:<{width}}  AP {m['bbox_mAP']:.3f}  AP50 {m['bbox_mAP_50']:.3f}  AP75 {m['bbox_mAP_75']:.3f}")
    print(f'written {osp.join(args.out_dir, "oracle.json")} and oracle.png')


if __name__ == '__main__':
    main()
