"""Fault campaign for the data path: broken annotation files, boxes that cannot be trained on,
and image files of every awkward kind.  Each fault either loads (a documented conversion, or
the bad box dropped with a warning naming the annotation id and the image file) or fails with an
error naming the file (and, for json, the position).  See docs/getting_started.md, "Bad data"."""
import json
import math
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from mmdet.datasets import AnnotationError, CocoDataset, CustomDataset, ImageReadError
from mmdet.datasets.pipelines import LoadImageFromFile, imread
from tests.conftest import ROOT, run_env, write_user_config

CLASSES = ('ellipse', 'rectangle', 'triangle')
PIPE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
        dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
H, W = 40, 60


def blocks(h=H, w=W):
    """RGB quadrants red / green / blue / yellow: any rotation or channel swap shows."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:h // 2, :w // 2] = (255, 0, 0)
    rgb[:h // 2, w // 2:] = (0, 255, 0)
    rgb[h // 2:, :w // 2] = (0, 0, 255)
    rgb[h // 2:, w // 2:] = (255, 255, 0)
    return rgb


def close(a, b, tol):
    return a.shape == b.shape and np.abs(a.astype(np.int32) - b.astype(np.int32)).mean() <= tol


def write_image(kind, path, rgb):
    """Write ``rgb`` as ``kind``; returns (the BGR uint8 image that color_type='color' must give,
    the mean-abs tolerance: 0 for lossless files)."""
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if kind == 'rgba_png':
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[:, : rgb.shape[1] // 3] = 0  # transparent: the colour is kept, alpha dropped (not composited)
        Image.fromarray(np.dstack([rgb, alpha]), 'RGBA').save(path)
        return bgr, 0
    if kind == 'png16':
        deep = bgr.astype(np.uint16) * 257 + np.random.default_rng(0).integers(0, 200, bgr.shape).astype(np.uint16)
        assert cv2.imwrite(str(path), deep)
        return (deep >> 8).astype(np.uint8), 0
    if kind == 'gray16_png':
        deep = gray.astype(np.uint16) * 257
        assert cv2.imwrite(str(path), deep)
        return np.repeat(gray[..., None], 3, 2), 0
    if kind == 'gray_png':
        Image.fromarray(gray, 'L').save(path)
        return np.repeat(gray[..., None], 3, 2), 0
    if kind == 'gray_jpg':
        Image.fromarray(gray, 'L').save(path, quality=95)
        return np.repeat(gray[..., None], 3, 2), 4
    if kind == 'cmyk_jpg':
        im = Image.fromarray(rgb).convert('CMYK')
        im.save(path, quality=95)
        assert Image.open(path).mode == 'CMYK'
        return bgr, 6
    if kind == 'exif_jpg':
        # stored turned 90 degrees counter-clockwise, tagged "rotate 90 CW to display" (orientation 6)
        im = Image.fromarray(np.ascontiguousarray(np.rot90(rgb, 1)))
        exif = im.getexif()
        exif[0x0112] = 6
        im.save(path, exif=exif, quality=95)
        assert Image.open(path).getexif()[0x0112] == 6
        return bgr, 6
    raise KeyError(kind)


KINDS = {'rgba_png': 'png', 'png16': 'png', 'gray16_png': 'png', 'gray_png': 'png', 'gray_jpg': 'jpg',
         'cmyk_jpg': 'jpg', 'exif_jpg': 'jpg'}


# -- images ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('kind', sorted(KINDS))
def test_awkward_images_load_as_3_channel_uint8_bgr(tmp_path, kind):
    path = tmp_path / f'{kind}.{KINDS[kind]}'
    want, tol = write_image(kind, path, blocks())
    img = imread(str(path), 'color')
    assert img.dtype == np.uint8 and img.shape == (H, W, 3)
    assert close(img, want, tol), np.abs(img.astype(int) - want).mean()
    # through the pipeline, with the annotation's (upright) size: no warning
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = LoadImageFromFile()(dict(img_info=dict(id=7, filename=path.name, width=W, height=H),
                                       img_prefix=str(tmp_path)))
    assert out['img'].shape == (H, W, 3) and out['ori_shape'] == (H, W, 3) and out['img'].dtype == np.uint8


def test_exif_orientation_as_mmcv_flags(tmp_path):
    """'color' and 'grayscale' turn the image upright (cv2 IMREAD_COLOR/GRAYSCALE, as mmcv's cv2
    backend); 'unchanged' and '*_ignore_orientation' give the stored pixels."""
    path = tmp_path / 'turned.jpg'
    upright, tol = write_image('exif_jpg', path, blocks())
    stored = np.ascontiguousarray(np.rot90(upright, 1))
    assert close(imread(str(path), 'color'), upright, tol)
    assert imread(str(path), 'grayscale').shape == (H, W)
    for flag in ('unchanged', 'color_ignore_orientation'):
        assert close(imread(str(path), flag), stored, tol), flag
    assert imread(str(path), 'grayscale_ignore_orientation').shape == (W, H)
    with pytest.raises(ValueError, match="'colour'"):
        imread(str(path), 'colour')


def test_image_whose_size_differs_from_its_annotation_warns_naming_it(tmp_path):
    path = tmp_path / 'turned.jpg'
    write_image('exif_jpg', path, blocks())
    # the annotation records the stored (sideways) size: the boxes would be in the wrong frame
    with pytest.warns(UserWarning, match=r'turned\.jpg \(image id 7\) decodes as 60x40 .* says 40x60; .*EXIF'):
        LoadImageFromFile()(dict(img_info=dict(id=7, filename='turned.jpg', width=H, height=W),
                                 img_prefix=str(tmp_path)))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        out = LoadImageFromFile(color_type='color_ignore_orientation')(
            dict(img_info=dict(id=7, filename='turned.jpg', width=H, height=W), img_prefix=str(tmp_path)))
    assert out['img'].shape == (W, H, 3)


def test_zero_byte_corrupt_and_missing_images_fail_naming_the_file(tmp_path):
    (tmp_path / 'zero.jpg').write_bytes(b'')
    (tmp_path / 'text.png').write_text('not a png at all')
    good = tmp_path / 'good.jpg'
    cv2.imwrite(str(good), blocks())
    (tmp_path / 'cut.jpg').write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    cases = {'zero.jpg': r'empty \(0 bytes\): .*zero\.jpg', 'text.png': r'corrupt.*: .*text\.png',
             'cut.jpg': r'corrupt, truncated.*: .*cut\.jpg', 'gone.jpg': r'not found: .*gone\.jpg'}
    for name, pattern in cases.items():
        with pytest.raises(ImageReadError, match=pattern):
            imread(str(tmp_path / name))
        with pytest.raises(ImageReadError, match=pattern):
            LoadImageFromFile()(dict(img_info=dict(filename=name), img_prefix=str(tmp_path)))


# -- a tiny COCO dataset ---------------------------------------------------------------------------

def coco_dict(anns=(), images=None):
    images = images or [dict(id=1, file_name='a.png', width=W, height=H),
                        dict(id=2, file_name='b.png', width=W, height=H)]
    return dict(images=images, annotations=list(anns),
                categories=[dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)])


def ann(id, bbox, image_id=1, category_id=1, **kw):
    area = bbox[2] * bbox[3] if all(isinstance(v, (int, float)) for v in bbox) else 1
    return dict(dict(id=id, image_id=image_id, category_id=category_id, bbox=bbox, area=area, iscrowd=0), **kw)


@pytest.fixture
def tiny(tmp_path):
    """``tiny(dict_or_text) -> path`` of the json file (with a.png and b.png next to it)."""
    for name in ('a.png', 'b.png'):
        cv2.imwrite(str(tmp_path / name), blocks()[..., ::-1])

    def write(content, name='ann.json'):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
        return path
    return write


def dataset(path, **kw):
    return CocoDataset(ann_file=str(path), img_prefix=osp.dirname(path), pipeline=PIPE, classes=CLASSES, **kw)


def test_tiny_coco_json_is_a_real_pycocotools_file(tiny):
    from pycocotools.coco import COCO
    path = tiny(coco_dict([ann(1, [5, 5, 20, 20]), ann(2, [30, 10, 20, 20], image_id=2, category_id=2)]))
    assert len(COCO(str(path)).anns) == 2
    ds = dataset(path)
    assert len(ds) == 2 and ds[1]['gt_labels'].data.tolist() == [1]


def test_truncated_json_names_file_line_column_and_truncation(tiny):
    text = json.dumps(coco_dict([ann(1, [5, 5, 20, 20])]), indent=1)
    path = tiny(text[:len(text) // 2], 'cut.json')
    line = text[:len(text) // 2].count('\n') + 1
    with pytest.raises(AnnotationError, match=rf'cut\.json is not valid JSON: .* at line {line} column \d+ '
                                              rf'\(char \d+ of \d+\) \(the file ends there: truncated\?\)'):
        dataset(path)
    # a broken middle is named by its position, without the truncation hint
    path = tiny(text.replace('"width": 60,', '"width": 60', 1), 'comma.json')
    with pytest.raises(AnnotationError, match=r'comma\.json is not valid JSON: Expecting .* at line \d+ column \d+ '
                                              r'\(char \d+ of \d+\)$'):
        dataset(path)
    with pytest.raises(AnnotationError, match=r'empty\.json is empty \(0 bytes\)'):
        dataset(tiny('', 'empty.json'))
    latin = b'{"images": [], "categories": [{"id": 1, "supercategory": "s", "name": "caf\xe9"}]}'
    at = latin.index(0xe9)
    with pytest.raises(AnnotationError, match=rf'latin\.json is not valid JSON: not UTF-8 text at byte {at} '):
        dataset(tiny(latin, 'latin.json'))
    with pytest.raises(AnnotationError, match=r'cut\.json is not valid JSON: .* at line \d+ column \d+'):
        CustomDataset(ann_file=str(tiny(text[:len(text) // 2], 'cut.json')), pipeline=PIPE, classes=CLASSES)


def _set(d, key, value):
    d[key] = value
    return d


MALFORMED = {
    'top level is a list': (lambda d: [d], r'not in COCO format: the top level is a list'),
    'annotations not a list': (lambda d: _set(d, 'annotations', {}), r'"annotations" is a dict, not a list'),
    'image without width': (lambda d: d['images'][1].pop('width') and d, r"image 2 has no 'width'"),
    'image of height 0': (lambda d: _set(d['images'][1], 'height', 0) and d, r'image 2 \(b\.png\) has height 0'),
    'category without name': (lambda d: d['categories'][2].pop('name') and d, r"categories\[2\] is not an object"),
    'annotation without image_id': (lambda d: d['annotations'][1].pop('image_id') and d,
                                    r"annotation 12 has no 'image_id'"),
    'annotation without id': (lambda d: d['annotations'][1].pop('id') and d, r"annotations\[1\] has no 'id'"),
    'bbox a string': (lambda d: _set(d['annotations'][1], 'bbox', '5,5,10,10') and d,
                      r"annotation 12 \(image 1, a\.png\) has a malformed bbox '5,5,10,10'"),
    'bbox of 3 numbers': (lambda d: _set(d['annotations'][1], 'bbox', [5, 5, 10]) and d,
                          r'annotation 12 \(image 1, a\.png\) has a malformed bbox \[5, 5, 10\]'),
    'bbox with null': (lambda d: _set(d['annotations'][1], 'bbox', [5, None, 10, 10]) and d,
                       r'annotation 12 \(image 1, a\.png\) has a malformed bbox \[5, None, 10, 10\]'),
    'bbox missing': (lambda d: d['annotations'][1].pop('bbox') and d,
                     r'annotation 12 \(image 1, a\.png\) has a malformed bbox None'),
    'repeated annotation id': (lambda d: _set(d['annotations'][1], 'id', 11) and d,
                               r'annotation id 11 is not unique \(annotations\[0\] and annotations\[1\]\)'),
    'repeated image id': (lambda d: _set(d['images'][1], 'id', 1) and d,
                          r'image id 1 is not unique \(images\[0\] and images\[1\]\)'),
    'unknown category': (lambda d: _set(d['annotations'][1], 'category_id', 99) and d,
                         r'category ids \[99\] that are not listed'),
}


@pytest.mark.parametrize('fault', sorted(MALFORMED))
def test_malformed_coco_json_fails_naming_file_and_entry(tiny, fault):
    mutate, pattern = MALFORMED[fault]
    d = mutate(coco_dict([ann(11, [5, 5, 20, 20]), ann(12, [30, 10, 20, 20])]))
    with pytest.raises(AnnotationError, match=r'ann\.json') as e:
        dataset(tiny(d))
    assert e.match(pattern), str(e.value)


def test_untrainable_boxes_are_dropped_with_one_warning_naming_each(tiny):
    nan, inf = float('nan'), float('inf')
    bad = {12: [nan, 5, 10, 10], 13: [5, 5, inf, 10], 14: [5, 5, 10, -inf], 15: [5, 5, -10, 10],
           16: [5, 5, 10, -3], 17: [5, 5, 0, 10], 18: [5, 5, 10, 0]}
    anns = [ann(11, [5, 5, 20, 20]), ann(19, [5, 5, 0.5, 10]), ann(20, [100, 100, 10, 10]),  # 2.x: dropped silently
            ann(21, [5, 5, nan, 10], iscrowd=1), ann(22, [30, 10, 20, 20], image_id=2)]
    anns += [ann(i, b) for i, b in bad.items()]
    path = tiny(coco_dict(anns))  # json.dumps writes NaN / Infinity, which json (and pycocotools) read back
    from pycocotools.coco import COCO
    assert math.isnan(COCO(str(path)).anns[12]['bbox'][0])
    with pytest.warns(UserWarning) as record:
        ds = dataset(path)
    msgs = [str(w.message) for w in record if 'cannot be trained on' in str(w.message)]
    assert len(msgs) == 1, msgs
    msg = msgs[0]
    assert str(path) in msg and 'dropped 8 box(es)' in msg
    for i in (*bad, 21):
        assert f'annotation {i} (image 1, a.png)' in msg
    assert 'annotation 19' not in msg and 'annotation 20' not in msg and 'annotation 11' not in msg
    assert 'not finite' in msg and 'negative width' in msg and 'negative height' in msg and 'zero width' in msg
    info = ds.get_ann_info(0)
    assert info['bboxes'].tolist() == [[5, 5, 25, 25]] and info['labels'].tolist() == [0]
    assert info['bboxes_ignore'].shape == (0, 4)
    sample = ds[0]
    assert np.isfinite(sample['gt_bboxes'].data.numpy()).all()


def test_many_untrainable_boxes_are_summarised(tiny):
    anns = [ann(11, [5, 5, 20, 20])] + [ann(100 + i, [5, 5, float('nan'), 4]) for i in range(15)]
    with pytest.warns(UserWarning, match=r'dropped 15 box\(es\).*annotation 109 .*; and 5 more$'):
        dataset(tiny(coco_dict(anns)))


def test_middle_format_untrainable_boxes_dropped_naming_the_entry(tmp_path):
    cv2.imwrite(str(tmp_path / '0.png'), blocks())
    boxes = np.array([[1, 2, 30, 30], [np.nan, 2, 30, 30], [30, 2, 10, 30], [1, 2, np.inf, 30]], np.float32)
    infos = [dict(filename='0.png', width=W, height=H,
                  ann=dict(bboxes=boxes, labels=np.array([0, 1, 2, 1]),
                           bboxes_ignore=np.array([[1, 1, np.nan, 5]], np.float32)))]
    pickle.dump(infos, open(tmp_path / 'ann.pkl', 'wb'))
    with pytest.warns(UserWarning) as record:
        ds = CustomDataset(ann_file=str(tmp_path / 'ann.pkl'), img_prefix=str(tmp_path), pipeline=PIPE,
                           classes=CLASSES, min_size=0)
    msg = next(str(w.message) for w in record if 'cannot be trained on' in str(w.message))
    assert 'ann.pkl' in msg and 'dropped 4 box(es)' in msg
    for where in ('bboxes[1]', 'bboxes[2]', 'bboxes[3]', 'bboxes_ignore[0]'):
        assert f'entry 0 (0.png) {where}' in msg
    assert 'x2 < x1 or y2 < y1' in msg and 'not finite' in msg
    a = ds.get_ann_info(0)
    assert a['bboxes'].tolist() == [[1, 2, 30, 30]] and a['labels'].tolist() == [0] and len(a['bboxes_ignore']) == 0
    infos[0]['ann']['bboxes'] = [['a', 1, 2, 3]]
    pickle.dump(infos, open(tmp_path / 'bad.pkl', 'wb'))
    with pytest.raises(AnnotationError, match=r'bad\.pkl: entry 0 \(0\.png\) has malformed bboxes'):
        CustomDataset(ann_file=str(tmp_path / 'bad.pkl'), pipeline=PIPE, classes=CLASSES)


def test_unreadable_images_in_a_dataset_fail_naming_them_or_are_skipped(tiny, tmp_path):
    images = [dict(id=1, file_name='a.png', width=W, height=H), dict(id=2, file_name='zero.png', width=W, height=H),
              dict(id=3, file_name='gone.png', width=W, height=H)]
    (tmp_path / 'zero.png').write_bytes(b'')
    path = tiny(coco_dict([ann(10 + i, [5, 5, 20, 20], image_id=i) for i in (1, 2, 3)], images=images))
    ds = dataset(path)
    with pytest.raises(ImageReadError, match=r'empty \(0 bytes\): .*zero\.png'):
        ds[1]
    with pytest.raises(ImageReadError, match=r'not found: .*gone\.png'):
        ds[2]
    tolerant = dataset(path, skip_bad_images=True)
    with pytest.warns(UserWarning, match=r'skipping unreadable image: .*zero\.png'):
        assert tolerant[1]['img'].data.shape[0] == 3


# -- training on a dataset with every non-fatal fault ------------------------------------------------

def test_training_on_faulty_data_warns_and_keeps_losses_finite(tmp_path, shapes_data):
    """Awkward image files and untrainable boxes (one image has no usable box left): one epoch of
    tools/train.py runs, warns naming each dropped box, and every logged loss is finite."""
    root = tmp_path / 'data'
    shutil.copytree(shapes_data, root)
    ann_file = root / 'annotations' / 'instances_train.json'
    d = json.load(open(ann_file))
    for img, kind in zip(d['images'], sorted(KINDS)):  # the first 7 of the 8 train images
        src = root / 'train' / img['file_name']
        rgb = cv2.imread(str(src))[..., ::-1]
        img['file_name'] = f"{osp.splitext(img['file_name'])[0]}_{kind}.{KINDS[kind]}"
        write_image(kind, root / 'train' / img['file_name'], rgb)
        os.remove(src)
    nan, inf = float('nan'), float('inf')
    next_id = max(a['id'] for a in d['annotations']) + 1
    bad = [[nan, 5, 10, 10], [5, 5, inf, 20], [5, 5, 20, inf], [5, 5, -10, 10], [5, 5, 0, 10]]
    added = {}
    for k, box in enumerate(bad):
        img = d['images'][k % len(d['images'])]
        added[next_id + k] = img['file_name']
        d['annotations'].append(dict(id=next_id + k, image_id=img['id'], category_id=1, bbox=box, area=100, iscrowd=0))
    last = d['images'][-1]['id']  # nothing usable left on this image: all its boxes are NaN
    for a in d['annotations']:
        if a['image_id'] == last:
            a['bbox'][2] = nan
            added[a['id']] = d['images'][-1]['file_name']
    json.dump(d, open(ann_file, 'w'))
    cfg = write_user_config(tmp_path / 'cfg.py', str(root), epochs=1)
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', str(tmp_path / 'w'),
                          '--no-validate', '--seed', '0'], cwd=ROOT, env=run_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'cannot be trained on' in out.stderr
    for i, name in added.items():
        assert f'annotation {i} (image ' in out.stderr and name in out.stderr, (i, name)
    assert 'decodes as' not in out.stderr  # every awkward image came out at its annotated size
    records = [json.loads(line) for p in (tmp_path / 'w').glob('*.log.json') for line in open(p)]
    losses = [r['loss'] for r in records if 'loss' in r]
    assert len(losses) == 4 and all(math.isfinite(v) for v in losses), losses
