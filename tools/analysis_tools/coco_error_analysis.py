#!/usr/bin/env python
"""COCO error breakdown of box detections as precision-recall plots.

    python tools/analysis_tools/coco_error_analysis.py RESULTS.bbox.json OUT_DIR [--ann ANN.json] \\
        [--areas 1024 9216 1e10]

RESULTS.bbox.json: from ``tools/test.py CONFIG CKPT --format-only --eval-options jsonfile_prefix=RESULTS``.
Writes ``OUT_DIR/bbox/<category>-<area>-bbox.png`` and ``allclass-*.png``: the PR areas of
C75, C50, Loc, Sim, Oth, BG and FN (Hoiem et al.; see mmdet.core.coco_error_analysis).
"""
import argparse
import contextlib
import io
import json
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.core import coco_error_analysis  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='COCO Error Analysis Tool')
    p.add_argument('result', help='the .bbox.json result file')
    p.add_argument('out_dir', help='directory for the plots')
    p.add_argument('--ann', default='data/coco/annotations/instances_val2017.json',
                   help='COCO annotation file of the evaluated images')
    p.add_argument('--types', type=str, nargs='+', choices=['bbox', 'segm'], default=['bbox'],
                   help='result types (bbox; segm needs mask results, which box detectors do not make)')
    p.add_argument('--areas', type=float, nargs=3, default=None, help='area bounds small/medium/large')
    args = p.parse_args(argv)
    if 'segm' in args.types:
        msg = '--types segm: mask results are out of scope here (box detectors only)'
        if 'bbox' not in args.types:
            p.error(f'{msg}; use --types bbox')
        warnings.warn(f'{msg}; analysing bbox only')
        args.types = ['bbox']
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    from pycocotools.coco import COCO
    if not osp.isfile(args.ann):
        raise FileNotFoundError(f'annotation file not found: {args.ann}')
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(args.ann)
    with open(args.result) as f:
        dets = json.load(f)
    summary = coco_error_analysis(gt, dets, osp.join(args.out_dir, 'bbox'), areas=args.areas)
    width = max(len(n) for n in summary)
    print(f"{'category':<{width}}  " + '  '.join(f'{t:>5}' for t in ('C75', 'C50', 'Loc', 'Sim', 'Oth', 'BG', 'FN')))
    for name, aps in summary.items():
        print(f'{name:<{width}}  ' + '  '.join(f'{a:5.3f}' for a in aps))
    print(f'plots written to {osp.join(args.out_dir, "bbox")}')


if __name__ == '__main__':
    main()
