#!/usr/bin/env python
"""The confusion matrix of saved results, counted as MMDetection 2.x does (rows: gt classes and
background, columns: predicted classes and background).

    python tools/analysis_tools/confusion_matrix.py CONFIG RESULTS.pkl OUT_DIR [--score-thr 0.3]
        [--tp-iou-thr 0.5] [--nms-iou-thr 0.5]

Writes ``OUT_DIR/confusion_matrix.json`` (counts) and ``OUT_DIR/confusion_matrix.png``
(percent of each gt row).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.core.evaluation.thresholds import confusion_matrix_report  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Confusion matrix of detection results')
    p.add_argument('config', help='the config the results were made with')
    p.add_argument('prediction_path', help='results from tools/test.py --out')
    p.add_argument('save_dir', help='where to write confusion_matrix.{json,png}')
    p.add_argument('--score-thr', type=float, default=0.3, help='detections below this score are left out')
    p.add_argument('--tp-iou-thr', type=float, default=0.5, help='least IoU of a detection with a gt it counts for')
    p.add_argument('--nms-iou-thr', type=float, default=None, help='NMS each class at this IoU first (default: no)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.prediction_path, dataset)
    anns = [dataset.get_ann_info(i) for i in range(len(dataset))]
    cm = confusion_matrix_report(results, anns, dataset.CLASSES, args.save_dir, args.score_thr, args.tp_iou_thr,
                                 args.nms_iou_thr)
    print(cm)
    print(f'written {osp.join(args.save_dir, "confusion_matrix.json")} and confusion_matrix.png')


if __name__ == '__main__':
    main()
