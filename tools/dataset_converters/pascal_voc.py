#!/usr/bin/env python
"""Convert Pascal VOC annotations (XML) to COCO-format json files.

    python tools/dataset_converters/pascal_voc.py data/VOCdevkit -o data/coco_voc [--splits trainval test]

Writes ``voc07_<split>.json`` / ``voc12_<split>.json`` for every split file found
under ``VOC<year>/ImageSets/Main/``, and ``voc0712_trainval.json`` when both
years have trainval.  Image file names are relative to ``VOCdevkit/VOC<year>``.
Difficult objects are kept as ``iscrowd=1`` (ignored by COCO evaluation).
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.datasets import VOC_CLASSES, voc_to_coco  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description='Convert Pascal VOC annotations to COCO json')
    p.add_argument('devkit_path', help='the VOCdevkit directory (holding VOC2007/ and/or VOC2012/)')
    p.add_argument('-o', '--out-dir', help='output directory (default: devkit_path)')
    p.add_argument('--splits', nargs='+', default=['train', 'val', 'trainval', 'test'])
    p.add_argument('--classes', help='class names, comma separated or a file with one per line '
                                     '(default: the 20 VOC classes)')
    args = p.parse_args(argv)
    classes = VOC_CLASSES
    if args.classes:
        classes = tuple(open(args.classes).read().split()) if osp.isfile(args.classes) else \
            tuple(c.strip() for c in args.classes.split(',') if c.strip())
    out_dir = args.out_dir or args.devkit_path
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for year in ('2007', '2012'):
        prefix = osp.join(args.devkit_path, f'VOC{year}')
        for split in args.splits:
            ids = osp.join(prefix, 'ImageSets', 'Main', f'{split}.txt')
            if not osp.isfile(ids):
                continue
            coco = voc_to_coco(prefix, ids, classes)
            name = osp.join(out_dir, f'voc{year[2:]}_{split}.json')
            with open(name, 'w') as f:
                json.dump(coco, f)
            written[(year, split)] = coco
            print(f'{name}: {len(coco["images"])} images, {len(coco["annotations"])} boxes')
    if not written:
        raise FileNotFoundError(f'no VOC2007/VOC2012 ImageSets/Main/<split>.txt under {args.devkit_path}')
    if ('2007', 'trainval') in written and ('2012', 'trainval') in written:
        a, b = written[('2007', 'trainval')], written[('2012', 'trainval')]
        merged = dict(categories=a['categories'], images=[], annotations=[])
        for year, part in (('2007', a), ('2012', b)):
            offset_img, offset_ann = len(merged['images']), len(merged['annotations'])
            for im in part['images']:
                merged['images'].append(dict(im, id=im['id'] + offset_img, file_name=f'VOC{year}/{im["file_name"]}'))
            for an in part['annotations']:
                merged['annotations'].append(dict(an, id=an['id'] + offset_ann, image_id=an['image_id'] + offset_img))
        name = osp.join(out_dir, 'voc0712_trainval.json')
        with open(name, 'w') as f:
            json.dump(merged, f)
        print(f'{name}: {len(merged["images"])} images (file names relative to VOCdevkit)')


if __name__ == '__main__':
    main()
