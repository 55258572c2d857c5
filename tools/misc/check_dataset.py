#!/usr/bin/env python
"""Check a config's dataset before training: annotations, classes, boxes and image files.

    python tools/misc/check_dataset.py CONFIG [--split train|val|test] [--out-dir DIR] [--images]

Prints one report (errors, then warnings, grouped by kind with counts, each offender named by
file name, image id and annotation id; then statistics).  With --out-dir, also writes
``check_report.json`` and histograms (instances per class, box size, aspect ratio, image sizes)
as PNG.  --images decodes every image (otherwise: existence and size only).  Exit code 1 when
there are errors, 0 otherwise (warnings only).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmdet.datasets  # noqa: E402,F401  (registers the dataset types)
from mmdet.datasets.check import check_config  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Check a dataset before training')
    p.add_argument('config', help='config file path')
    p.add_argument('--split', choices=['train', 'val', 'test'], default='train', help='which of cfg.data to check')
    p.add_argument('--out-dir', default=None, help='write check_report.json and the histogram PNGs here')
    p.add_argument('--images', action='store_true', help='decode every image and compare its size')
    p.add_argument('--workers', type=int, default=8, help='threads reading the images')
    p.add_argument('--max-per-kind', type=int, default=20, help='offenders listed per kind on stdout')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    report = check_config(cfg, args.split, images=args.images, workers=args.workers)
    print(report.to_text(args.max_per_kind))
    if args.out_dir is not None:
        for path in report.write(args.out_dir):
            print(f'wrote {path}')
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
