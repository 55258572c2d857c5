#!/usr/bin/env python
"""Draw what the training pipeline feeds the model (after augmentation).

    python tools/misc/browse_dataset.py CONFIG --output-dir DIR --not-show [--limit 50]
        [--skip-type DefaultFormatBundle Normalize Collect]

Each image is written with its ground-truth boxes and class names, so a new
dataset's boxes, classes and augmentations can be checked by eye.
"""
import argparse
import copy
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mmdet.core.visualization import imshow_det_bboxes  # noqa: E402
from mmdet.datasets import RepeatDataset, build_dataset  # noqa: E402
from mmdet.parallel import unwrap  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def _strip(cfg, skip):
    """Remove the pipeline steps of the types in ``skip`` from a dataset config (nested too)."""
    if 'dataset' in cfg:
        _strip(cfg['dataset'], skip)
    if 'datasets' in cfg:
        for c in cfg['datasets']:
            _strip(c, skip)
    if 'pipeline' in cfg:
        cfg['pipeline'] = [s for s in cfg['pipeline'] if s['type'] not in skip]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Browse a dataset: draw augmented training samples')
    p.add_argument('config', help='train config file path')
    p.add_argument('--skip-type', type=str, nargs='+', default=['DefaultFormatBundle', 'Normalize', 'Collect'],
                   help='pipeline steps to leave out (those that turn the image into a tensor)')
    p.add_argument('--output-dir', default=None, type=str, help='where to write the drawings')
    p.add_argument('--not-show', default=False, action='store_true',
                   help='do not show the images (they cannot be shown here: OpenCV headless; use --output-dir)')
    p.add_argument('--show-interval', type=float, default=2, help='the interval of show (s) (no display here)')
    p.add_argument('--limit', type=int, default=0, help='draw at most this many samples (0: all)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    if not args.not_show and args.output_dir is None:
        # 2.x shows every image unless --not-show; OpenCV headless has no windows (--show-interval is moot)
        warnings.warn('showing images needs a display, which this build cannot open (OpenCV headless); nothing '
                      'is drawn: pass --output-dir DIR to write the images (or --not-show to only run the pipeline)')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    train_cfg = copy.deepcopy(cfg.data.train)
    _strip(train_cfg, set(args.skip_type))
    dataset = build_dataset(train_cfg)
    base = dataset.dataset if isinstance(dataset, RepeatDataset) else dataset
    classes = getattr(base, 'CLASSES', None)
    n = len(dataset) if args.limit <= 0 else min(args.limit, len(dataset))
    for i in tqdm(range(n), desc='browse', unit='img', dynamic_ncols=True):
        item = unwrap(dataset[i])  # the 2.x DataContainers hold the values
        img = item['img']
        img = img.numpy().transpose(1, 2, 0) if hasattr(img, 'numpy') else np.asarray(img)
        bboxes, labels = np.asarray(item['gt_bboxes']), np.asarray(item['gt_labels'])
        name = osp.basename(item.get('filename') or item.get('img_info', {}).get('filename', f'{i:06d}.jpg'))
        if args.output_dir is not None:
            imshow_det_bboxes(np.clip(img, 0, 255).astype(np.uint8), bboxes, labels, class_names=classes,
                              out_file=osp.join(args.output_dir, f'{i:06d}_{name}'))
    if args.output_dir is not None:
        print(f'{n} samples drawn to {args.output_dir}')
    else:
        print(f'{n} samples went through the pipeline (none drawn: no --output-dir)')


if __name__ == '__main__':
    main()
