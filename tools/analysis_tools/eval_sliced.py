#!/usr/bin/env python
"""COCO box AP (AP_small above all) of a detector without and with sliced inference.

    python tools/analysis_tools/eval_sliced.py CONFIG CHECKPOINT [--slice 512 512] [--overlap 0.2]
        [--make-data DIR [--num-images 4] [--img-size 1024 768] [--obj-size 8 20] [--seed 0]]

Evaluates on the config's ``data.test`` set, or with ``--make-data`` on a generated set of large images with
small shapes (written to ``DIR/val``, ``DIR/annotations/instances_val.json``, the shapes classes; a folder that
holds such a set already is reused), and prints AP, AP_small, AP_medium and AP_large of the plain pass and
of :func:`mmdet.apis.sliced_inference`.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset, init_detector  # noqa: E402
from mmdet.apis.sliced_inference import evaluate_sliced  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402

ROWS = (('AP', 'bbox_mAP'), ('AP_small', 'bbox_mAP_s'), ('AP_medium', 'bbox_mAP_m'), ('AP_large', 'bbox_mAP_l'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='COCO AP without and with sliced inference')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--slice', nargs=2, type=int, default=[512, 512], metavar=('W', 'H'), help='tile size')
    p.add_argument('--overlap', type=float, default=0.2, help='share of a tile its neighbour overlaps, in [0, 1)')
    p.add_argument('--batch-size', type=int, default=4, help='images / tiles per forward pass')
    p.add_argument('--no-full-image', action='store_true', help='slices only, no full-image pass')
    p.add_argument('--merge-iou', type=float, default=0.5, help='least overlap of merged cut boxes')
    p.add_argument('--merge-metric', choices=['ios', 'iou'], default='ios',
                   help='overlap of the merge: intersection over the smaller box, or IoU')
    p.add_argument('--make-data', metavar='DIR', default=None,
                   help='generate a set of large images with small objects in DIR and evaluate on it')
    p.add_argument('--num-images', type=int, default=4, help='--make-data: how many images')
    p.add_argument('--img-size', nargs=2, type=int, default=[1024, 768], metavar=('W', 'H'),
                   help='--make-data: image size')
    p.add_argument('--obj-size', nargs=2, type=int, default=[8, 20], metavar=('MIN', 'MAX'),
                   help='--make-data: object side range in pixels')
    p.add_argument('--max-objects', type=int, default=30, help='--make-data: most objects per image')
    p.add_argument('--seed', type=int, default=0, help='--make-data: seed')
    p.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    p.add_argument('--out', default=None, help='also write the metrics as json here')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    if not 0 <= args.overlap < 1:
        p.error(f'--overlap must be in [0, 1), got {args.overlap}')
    if min(args.slice) < 1 or args.batch_size < 1 or args.num_images < 1:
        p.error('--slice, --batch-size and --num-images must be positive')
    if not 0 < args.obj_size[0] <= args.obj_size[1] < min(args.img_size):
        p.error(f'--obj-size must be 0 < MIN <= MAX < the image side, got {args.obj_size}')
    return args


def make_small_object_set(out_dir, num_images, img_size, obj_size, max_objects, seed):
    """A generated shapes set of ``num_images`` (w, h) ``img_size`` images with objects of about
    ``obj_size`` pixels in ``out_dir`` (reused when ``out_dir`` holds one already; an other non-empty
    folder is refused, never overwritten); returns the dataset config of it (its val split)."""
    from mmdet.datasets.synthetic import SHAPE_CLASSES, make_shapes_dataset
    ann_file = osp.join(out_dir, 'annotations', 'instances_val.json')
    if osp.isfile(ann_file):
        print(f'using the images already generated in {out_dir}')
    elif osp.isdir(out_dir) and os.listdir(out_dir):
        sys.exit(f'error: --make-data {out_dir}: the folder is not empty and holds no generated set ({ann_file}); '
                 'give a new folder')
    else:
        w, h = img_size
        make_shapes_dataset(out_dir, num_train=0, num_val=num_images, seed=seed,
                            size_range=((h, h + 1), (w, w + 1)), max_objects=max_objects, min_obj=obj_size[0],
                            max_obj_frac=obj_size[1] / min(w, h))
    return dict(type='CocoDataset', classes=SHAPE_CLASSES, ann_file=ann_file, img_prefix=osp.join(out_dir, 'val'))


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if args.make_data:
        test = make_small_object_set(args.make_data, args.num_images, args.img_size, args.obj_size,
                                     args.max_objects, args.seed)
        cfg.data.test.update(test)
    dataset = build_test_dataset(cfg)
    model = init_detector(cfg, args.checkpoint, device=args.device)
    metrics = evaluate_sliced(model, dataset, tuple(args.slice), args.overlap, args.batch_size,
                              not args.no_full_image, logger='silent', merge_iou=args.merge_iou,
                              merge_metric=args.merge_metric)
    print(f'{len(dataset)} images, slices {args.slice[0]}x{args.slice[1]}, overlap {args.overlap}'
          + ('' if args.no_full_image else ' + full image'))
    print(f'{"":<10} {"no slicing":>10} {"sliced":>10}')
    for name, key in ROWS:
        print(f'{name:<10} {metrics["full"][key]:>10.3f} {metrics["sliced"][key]:>10.3f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({k: {m: v for m, v in d.items() if isinstance(v, float)} for k, d in metrics.items()}, f,
                      indent=1)


if __name__ == '__main__':
    main()
