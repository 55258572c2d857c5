#!/usr/bin/env python
"""Generate the shapes dataset (COCO format): ``python tools/misc/make_shapes_dataset.py data/shapes``."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.datasets.synthetic import make_shapes_dataset  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', help='output directory (train/, val/, annotations/)')
    p.add_argument('--num-train', type=int, default=400)
    p.add_argument('--num-val', type=int, default=100)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    files = make_shapes_dataset(args.out_dir, args.num_train, args.num_val, args.seed)
    print(f'wrote {args.num_train} train and {args.num_val} val images to {args.out_dir}: {files}')


if __name__ == '__main__':
    main()
