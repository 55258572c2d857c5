#!/usr/bin/env python
"""Draw the best and the worst images by per-image mAP (averaged over IoU .5:.95).

    python tools/analysis_tools/analyze_results.py CONFIG RESULTS.pkl OUT_DIR [--topk 20] [--show-score-thr 0]

Writes ``OUT_DIR/good/`` and ``OUT_DIR/bad/`` with predictions (class colours,
with scores) and ground truth (green, "GT"); file names start with the mAP.
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.core import per_image_map  # noqa: E402
from mmdet.core.visualization import imshow_gt_det_bboxes  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Best and worst images by per-image mAP')
    p.add_argument('config', help='test config file path')
    p.add_argument('prediction_path', help='results from tools/test.py --out')
    p.add_argument('show_dir', help='where to write good/ and bad/')
    p.add_argument('--show', action='store_true', help='show results (needs a display; the images are written anyway)')
    p.add_argument('--wait-time', type=float, default=0, help='the interval of show (s), 0 is block (with --show)')
    p.add_argument('--topk', type=int, default=20, help='images of each kind')
    p.add_argument('--show-score-thr', type=float, default=0, help='score threshold (default: 0.)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    if args.show:
        warnings.warn('--show needs a display, which this build cannot open (OpenCV headless); '
                      f'the images are written to {args.show_dir} only')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.prediction_path, dataset)
    anns = [dataset.get_ann_info(i) for i in range(len(dataset))]
    maps = per_image_map(results, anns)
    order = np.argsort(maps, kind='stable')
    k = min(args.topk, len(order))
    for kind, picks in (('good', order[::-1][:k]), ('bad', order[:k])):
        for i in picks:
            info = dataset.data_infos[i]
            name = f"{maps[i]:.3f}_{osp.basename(info['filename'])}"
            imshow_gt_det_bboxes(osp.join(dataset.img_prefix or '', info['filename']), anns[i]['bboxes'],
                                 anns[i]['labels'], results[i], dataset.CLASSES, args.show_score_thr,
                                 out_file=osp.join(args.show_dir, kind, name))
    print(f'{k} best and {k} worst of {len(order)} images (mean per-image mAP {maps.mean():.3f}) '
          f'drawn to {args.show_dir}/good and {args.show_dir}/bad')


if __name__ == '__main__':
    main()
