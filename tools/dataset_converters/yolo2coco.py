"""Convert a YOLO-format set (Ultralytics ``data.yaml``) to COCO json: ``instances_<split>.json``
per split, ``file_name`` relative to the yaml's root (use that root as ``img_prefix``)."""
import argparse
import json
import os
import os.path as osp

from mmdet.datasets.yolo import read_data_yaml, yolo_to_coco


def parse_args():
    parser = argparse.ArgumentParser(description='YOLO-format data.yaml -> COCO json per split')
    parser.add_argument('data_yaml', help='the data.yaml (names, train/val/test paths)')
    parser.add_argument('out_dir', help='folder for instances_<split>.json')
    parser.add_argument('--splits', nargs='+', default=None, help='splits to convert (default: all in the yaml)')
    return parser.parse_args()


def main():
    args = parse_args()
    _, _, splits = read_data_yaml(args.data_yaml)
    os.makedirs(args.out_dir, exist_ok=True)
    for split in args.splits or list(splits):
        coco = yolo_to_coco(args.data_yaml, split)
        out = osp.join(args.out_dir, f'instances_{split}.json')
        with open(out, 'w') as f:
            json.dump(coco, f)
        print(f'{split}: {len(coco["images"])} images, {len(coco["annotations"])} boxes -> {out}')


if __name__ == '__main__':
    main()
