#!/usr/bin/env python
"""Convert Pascal VOC annotations (XML) to COCO-format json (or 2.x's pickle) files.

    python tools/dataset_converters/pascal_voc.py data/VOCdevkit -o data/coco_voc [--splits trainval test]
    python tools/dataset_converters/pascal_voc.py data/VOCdevkit -o data/voc_pkl --out-format pkl

Writes ``voc07_<split>.<ext>`` / ``voc12_<split>.<ext>`` for every split file found
under ``VOC<year>/ImageSets/Main/``, and ``voc0712_<split>.<ext>`` for train, val
and trainval when both years have the split.  Difficult objects are kept as
``iscrowd=1`` in json (ignored by COCO evaluation) and as ``bboxes_ignore`` in pkl.

``--out-format coco`` (the default here; MMDetection 2.x's default was ``pkl``)
writes ``.json``: image file names are relative to ``VOCdevkit/VOC<year>``, and to
``VOCdevkit`` in the merged voc0712 files.  ``--out-format pkl`` writes 2.x's
middle format (a list of ``dict(filename, width, height, ann=dict(bboxes, labels,
bboxes_ignore, labels_ignore))``, read by ``CustomDataset``) with file names
relative to ``VOCdevkit`` as in 2.x (``img_prefix='data/VOCdevkit/'``); boxes keep the
XML's pixel coordinates, as the json files and ``XMLDataset`` do.
"""
import argparse
import json
import os
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.datasets import VOC_CLASSES, parse_voc_xml, voc_to_coco  # noqa: E402
from mmdet.datasets.custom import AnnotationError  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402

YEARS = ('2007', '2012')
MERGED_SPLITS = ('train', 'val', 'trainval')  # as 2.x: no merged test split


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Convert PASCAL VOC annotations to mmdetection format')
    p.add_argument('devkit_path', help='the VOCdevkit directory (holding VOC2007/ and/or VOC2012/)')
    p.add_argument('-o', '--out-dir', help='output directory (default: devkit_path)')
    p.add_argument('--out-format', default='coco', choices=('pkl', 'coco'),
                   help='"coco": COCO json (default); "pkl": the mmdetection 2.x middle format in a pickle')
    p.add_argument('--splits', nargs='+', default=['train', 'val', 'trainval', 'test'])
    p.add_argument('--classes', help='class names, comma separated or a file with one per line '
                                     '(default: the 20 VOC classes)')
    return p.parse_args(argv)


def voc_middle(devkit_path, year, ids_file, classes):
    """A VOC split in the 2.x middle format, file names relative to ``devkit_path``."""
    with open(ids_file) as f:
        img_ids = [line.strip().split()[0] for line in f if line.strip()]
    infos = []
    for img_id in img_ids:
        xml_path = osp.join(devkit_path, f'VOC{year}', 'Annotations', f'{img_id}.xml')
        width, height, ann = parse_voc_xml(xml_path, classes)
        if width is None:
            raise AnnotationError(f'{xml_path} has no <size>; the converter needs it')
        infos.append(dict(filename=f'VOC{year}/JPEGImages/{img_id}.jpg', width=width, height=height, ann=ann))
    return infos


def merge_coco(parts):
    """One COCO dict of per-year dicts (``{year: coco}``), file names made relative to the devkit."""
    first = next(iter(parts.values()))
    merged = dict(categories=first['categories'], images=[], annotations=[])
    for year, part in parts.items():
        offset_img, offset_ann = len(merged['images']), len(merged['annotations'])
        for im in part['images']:
            merged['images'].append(dict(im, id=im['id'] + offset_img, file_name=f'VOC{year}/{im["file_name"]}'))
        for an in part['annotations']:
            merged['annotations'].append(dict(an, id=an['id'] + offset_ann, image_id=an['image_id'] + offset_img))
    return merged


def _write(data, name, fmt):
    if fmt == 'pkl':
        with open(name, 'wb') as f:
            pickle.dump(data, f)
    else:
        with open(name, 'w') as f:
            json.dump(data, f)


def _describe(data, fmt):
    if fmt == 'pkl':
        boxes = sum(len(d['ann']['bboxes']) + len(d['ann']['bboxes_ignore']) for d in data)
        return f'{len(data)} images, {boxes} boxes'
    return f'{len(data["images"])} images, {len(data["annotations"])} boxes'


@main_guard
def main(argv=None):
    args = parse_args(argv)
    classes = VOC_CLASSES
    if args.classes:
        classes = tuple(open(args.classes).read().split()) if osp.isfile(args.classes) else \
            tuple(c.strip() for c in args.classes.split(',') if c.strip())
    fmt = args.out_format
    ext = '.json' if fmt == 'coco' else '.pkl'
    out_dir = args.out_dir or args.devkit_path
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for year in YEARS:
        prefix = osp.join(args.devkit_path, f'VOC{year}')
        for split in args.splits:
            ids = osp.join(prefix, 'ImageSets', 'Main', f'{split}.txt')
            if not osp.isfile(ids):
                continue
            data = voc_to_coco(prefix, ids, classes) if fmt == 'coco' else \
                voc_middle(args.devkit_path, year, ids, classes)
            name = osp.join(out_dir, f'voc{year[2:]}_{split}{ext}')
            _write(data, name, fmt)
            written[(year, split)] = data
            print(f'{name}: {_describe(data, fmt)}')
    if not written:
        raise FileNotFoundError(f'no VOC2007/VOC2012 ImageSets/Main/<split>.txt under {args.devkit_path}')
    for split in MERGED_SPLITS:
        if split not in args.splits or not all((year, split) in written for year in YEARS):
            continue
        parts = {year: written[(year, split)] for year in YEARS}
        merged = merge_coco(parts) if fmt == 'coco' else [info for year in YEARS for info in parts[year]]
        name = osp.join(out_dir, f'voc0712_{split}{ext}')
        _write(merged, name, fmt)
        print(f'{name}: {_describe(merged, fmt)} (file names relative to VOCdevkit)')


if __name__ == '__main__':
    main()
