#!/usr/bin/env python
"""How well detection scores predict IoU: reliability diagram, Spearman correlation and ECE.

    python tools/analysis_tools/iou_calibration.py CONFIG RESULTS.pkl OUT_DIR [--match-iou 0.5] [--num-bins 10]
        [--iou-kind best|matched] [--compare OTHER.pkl] [--labels VFL FL]

Writes ``OUT_DIR/iou_calibration.json`` (overall and per class: Spearman, ECE, the score bins)
and ``OUT_DIR/iou_calibration.png`` (one reliability panel per results file, side by side).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.core.evaluation.calibration import IOU_KINDS, iou_calibration  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Calibration of detection scores as IoU predictors')
    p.add_argument('config', help='the config the results were made with')
    p.add_argument('prediction_path', help='results from tools/test.py --out')
    p.add_argument('out_dir', help='where to write iou_calibration.{json,png}')
    p.add_argument('--compare', nargs='+', default=[], help='more results files of the same test set, plotted '
                   'next to the first (e.g. an FL model next to a VFL one)')
    p.add_argument('--labels', nargs='+', help='a name for each results file (default: the file names)')
    p.add_argument('--match-iou', type=float, default=0.5, help='least IoU of a match (default 0.5)')
    p.add_argument('--num-bins', type=int, default=10, help='score bins of the reliability diagram')
    p.add_argument('--iou-kind', choices=IOU_KINDS, default='best',
                   help="'best': every detection's best IoU with a same-class gt (default); "
                        "'matched': IoU with the gt the greedy matching gave it, 0 when unmatched")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    paths = [args.prediction_path] + args.compare
    if args.labels and len(args.labels) != len(paths):
        p.error(f'--labels gives {len(args.labels)} names for {len(paths)} results files')
    if args.num_bins < 1:
        p.error('--num-bins must be at least 1')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    paths = [args.prediction_path] + args.compare
    labels = args.labels or [osp.splitext(osp.basename(p))[0] for p in paths]
    if len(set(labels)) != len(labels):
        labels = [f'{i}: {lbl}' for i, lbl in enumerate(labels)]
    named = {lbl: load_results(p, dataset) for lbl, p in zip(labels, paths)}
    anns = [dataset.get_ann_info(i) for i in range(len(dataset))]
    reports = iou_calibration(named, anns, dataset.CLASSES, args.out_dir, args.match_iou, args.num_bins,
                              args.iou_kind)
    for lbl, rep in reports.items():
        o = rep['overall']
        print(f"{lbl}: {o['num_dets']} detections, Spearman(score, {args.iou_kind} IoU) = {o['spearman']}, "
              f"ECE = {o['ece']}")
    print(f'written {osp.join(args.out_dir, "iou_calibration.json")} and iou_calibration.png')


if __name__ == '__main__':
    main()
