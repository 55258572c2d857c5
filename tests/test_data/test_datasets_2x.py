"""LVIS, WIDER Face, Cityscapes and YOLO-format datasets on generated files: loading (boxes
per image, exactly), filtering, errors and evaluation of perfect predictions."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmdet.datasets.cityscapes import CityscapesDataset
from mmdet.datasets.coco import CocoDataset
from mmdet.datasets.custom import AnnotationError
from mmdet.datasets.wider_face import WIDERFaceDataset
from mmdet.datasets.yolo import YOLODataset
from tests.conftest import ROOT, run_env, write_user_config


def perfect(ds):
    """Each image's ground truth as detections with score 1."""
    out = []
    for i in range(len(ds)):
        ann = ds.get_ann_info(i)
        out.append([np.hstack([ann['bboxes'][ann['labels'] == k], np.ones(((ann['labels'] == k).sum(), 1))])
                    .astype(np.float32) for k in range(len(ds.CLASSES))])
    return out


# -- LVIS --------------------------------------------------------------------------------
def lvis_json(path, v1):
    cats = [dict(id=3, name='acorn', frequency='r'), dict(id=7, name='bagel', frequency='c'),
            dict(id=9, name='zebra', frequency='f')]
    images = []
    for i in (1, 2, 3):
        img = dict(id=i, width=200, height=150, neg_category_ids=[3] if i == 2 else [],
                   not_exhaustive_category_ids=[])
        if v1:
            img['coco_url'] = f'http://images.cocodataset.org/val2017/{i:012d}.jpg'
        else:
            img['file_name'] = f'COCO_val2014_{i:012d}.jpg'
        images.append(img)
    boxes = [(1, 3, [10, 20, 40, 30]), (1, 9, [100, 50, 60, 80]), (2, 7, [5, 5, 120, 90]),
             (2, 9, [130, 10, 50, 50])]  # image 3: no objects
    anns = [dict(id=k + 1, image_id=i, category_id=c, bbox=b, area=b[2] * b[3], segmentation=[])
            for k, (i, c, b) in enumerate(boxes)]
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return str(path)


@pytest.mark.parametrize('v1', [False, True])
def test_lvis_load_and_evaluate(tmp_path, v1):
    pytest.importorskip('lvis')
    from mmdet.datasets.lvis import LVISV05Dataset, LVISV1Dataset
    cls = LVISV1Dataset if v1 else LVISV05Dataset
    ann_file = lvis_json(tmp_path / 'lvis.json', v1)
    ds = cls(ann_file=ann_file, pipeline=[], test_mode=True)
    assert ds.CLASSES == ('acorn', 'bagel', 'zebra') and ds.cat_ids == [3, 7, 9]
    names = [d['filename'] for d in ds.data_infos]
    assert names == ([f'val2017/{i:012d}.jpg' for i in (1, 2, 3)] if v1 else [f'{i:012d}.jpg' for i in (1, 2, 3)])
    a0, a1, a2 = (ds.get_ann_info(i) for i in range(3))
    np.testing.assert_array_equal(a0['bboxes'], [[10, 20, 50, 50], [100, 50, 160, 130]])
    np.testing.assert_array_equal(a0['labels'], [0, 2])
    np.testing.assert_array_equal(a1['bboxes'], [[5, 5, 125, 95], [130, 10, 180, 60]])
    np.testing.assert_array_equal(a1['labels'], [1, 2])
    assert a2['bboxes'].shape == (0, 4)
    assert len(cls(ann_file=ann_file, pipeline=[])) == 2  # training drops the image without objects

    had_float = 'float' in np.__dict__
    res = ds.evaluate(perfect(ds), classwise=True)
    assert ('float' in np.__dict__) == had_float  # lvis's np.float alias is provided only while it runs
    keys = ['bbox_AP', 'bbox_AP50', 'bbox_AP75', 'bbox_APs', 'bbox_APm', 'bbox_APl', 'bbox_APr', 'bbox_APc',
            'bbox_APf']
    assert set(res) == set(keys) | {'bbox_mAP_copypaste'}
    for k in ('bbox_AP', 'bbox_AP50', 'bbox_AP75', 'bbox_APr', 'bbox_APc', 'bbox_APf'):
        assert res[k] == 1.0, (k, res)
    assert res['bbox_APs'] == -1.0  # no small ground truth (lvis reports -1)
    assert res['bbox_mAP_copypaste'].startswith('AP:1.000 AP50:1.000')

    # a false positive on an image that lists the class as absent costs; on one that does not, it does not
    worse = perfect(ds)
    worse[1][0] = np.array([[60, 60, 100, 100, 2.0]], np.float32)  # 'acorn' on image 2 (neg list): FP
    assert ds.evaluate(worse)['bbox_APr'] < 1.0
    unseen = perfect(ds)
    unseen[2][1] = np.array([[60, 60, 100, 100, 2.0]], np.float32)  # 'bagel' on image 3: not judged
    assert ds.evaluate(unseen)['bbox_AP'] == 1.0

    sub = cls(ann_file=ann_file, pipeline=[], test_mode=True, classes=('zebra', 'acorn'))
    assert sub.cat_ids == [9, 3]
    np.testing.assert_array_equal(sub.get_ann_info(0)['labels'], [1, 0])
    assert sub.evaluate(perfect(sub))['bbox_AP'] == 1.0


def test_lvis_errors(tmp_path):
    pytest.importorskip('lvis')
    from mmdet.datasets.lvis import LVISV05Dataset, LVISV1Dataset
    ann_file = lvis_json(tmp_path / 'v05.json', v1=False)
    with pytest.raises(AnnotationError, match="image 1 has no 'coco_url'"):
        LVISV1Dataset(ann_file=ann_file, pipeline=[], test_mode=True)
    with pytest.raises(AnnotationError, match=r"classes \['cat'\]"):
        LVISV05Dataset(ann_file=ann_file, pipeline=[], classes=('cat',))
    data = json.load(open(ann_file))
    data['categories'][1]['frequency'] = 'x'
    json.dump(data, open(ann_file, 'w'))
    with pytest.raises(AnnotationError, match=r"category 7 \(bagel\) has frequency 'x'"):
        LVISV05Dataset(ann_file=ann_file, pipeline=[])


# -- WIDER Face ----------------------------------------------------------------------------
def wider_xml(path, folder, size, faces):
    objs = ''.join(f'<object><name>face</name><difficult>{d}</difficult><bndbox><xmin>{b[0]}</xmin>'
                   f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
                   for b, d in faces)
    path.write_text(f'<annotation><folder>{folder}</folder><size><width>{size[0]}</width>'
                    f'<height>{size[1]}</height><depth>3</depth></size>{objs}</annotation>')


def test_wider_face(tmp_path):
    prefix = tmp_path / 'WIDER_train'
    (prefix / 'Annotations').mkdir(parents=True)
    wider_xml(prefix / 'Annotations' / '0_Parade_1.xml', '0--Parade', (320, 240),
              [((10, 10, 60, 70), 0), ((100, 100, 110, 108), 0), ((200, 20, 260, 90), 1)])
    wider_xml(prefix / 'Annotations' / '1_Handshaking_2.xml', '1--Handshaking', (300, 200),
              [((30, 40, 90, 120), 0)])
    (tmp_path / 'train.txt').write_text('0_Parade_1\n1_Handshaking_2\n')
    ds = WIDERFaceDataset(ann_file=str(tmp_path / 'train.txt'), img_prefix=str(prefix), pipeline=[],
                          min_size=17, test_mode=True)
    assert ds.CLASSES == ('face', )
    assert [d['filename'] for d in ds.data_infos] == ['0--Parade/0_Parade_1.jpg',
                                                     '1--Handshaking/1_Handshaking_2.jpg']
    assert (ds.data_infos[0]['width'], ds.data_infos[0]['height']) == (320, 240)
    a = ds.get_ann_info(0)
    np.testing.assert_array_equal(a['bboxes'], [[10, 10, 60, 70]])
    np.testing.assert_array_equal(a['bboxes_ignore'], [[100, 100, 110, 108], [200, 20, 260, 90]])  # small, difficult
    np.testing.assert_array_equal(ds.get_ann_info(1)['bboxes'], [[30, 40, 90, 120]])
    assert ds.evaluate(perfect(ds)) == {'mAP': 1.0}
    (prefix / 'Annotations' / '0_Parade_1.xml').write_text('<annotation><size><width>3</width><height>3</height>'
                                                           '</size></annotation>')
    with pytest.raises(AnnotationError, match='0_Parade_1.xml: no <folder>'):
        WIDERFaceDataset(ann_file=str(tmp_path / 'train.txt'), img_prefix=str(prefix), pipeline=[])


# -- Cityscapes ----------------------------------------------------------------------------
def test_cityscapes(tmp_path):
    names = CityscapesDataset.CLASSES
    cats = [dict(id=i, name=n) for i, n in zip((24, 25, 26, 27, 28, 31, 32, 33), names)]  # the converter's ids
    images = [dict(id=i, file_name=f'frankfurt/frankfurt_{i:06d}_leftImg8bit.png', width=2048, height=1024)
              for i in (1, 2, 3)]
    boxes = [(1, 26, [100, 200, 300, 150], 0), (1, 24, [900, 300, 60, 180], 0), (1, 24, [0, 0, 50, 50], 1),
             (2, 31, [10, 10, 200, 100], 1),  # image 2: crowd only
             (3, 33, [500, 400, 80, 90], 0)]
    anns = [dict(id=k + 1, image_id=i, category_id=c, bbox=b, area=b[2] * b[3], iscrowd=cr, segmentation=[])
            for k, (i, c, b, cr) in enumerate(boxes)]
    ann_file = tmp_path / 'instancesonly_filtered_gtFine_val.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    train = CityscapesDataset(ann_file=str(ann_file), img_prefix='', pipeline=[])
    assert [d['id'] for d in train.data_infos] == [1, 3] and train.img_ids == [1, 3]
    ds = CityscapesDataset(ann_file=str(ann_file), img_prefix='', pipeline=[], test_mode=True)
    a = ds.get_ann_info(0)
    np.testing.assert_array_equal(a['bboxes'], [[100, 200, 400, 350], [900, 300, 960, 480]])
    np.testing.assert_array_equal(a['labels'], [2, 0])
    np.testing.assert_array_equal(a['bboxes_ignore'], [[0, 0, 50, 50]])
    np.testing.assert_array_equal(ds.get_ann_info(2)['labels'], [7])
    res = ds.evaluate(perfect(ds))
    assert res['bbox_mAP'] == 1.0 and res['bbox_mAP_50'] == 1.0


# -- YOLO ------------------------------------------------------------------------------------
def make_yolo(root, names=('ellipse', 'rectangle', 'triangle'), n_train=4, dict_names=True, seed=0):
    """Train images of 128x96 with 1-3 boxes (one train image without a label file), val images of 96x128."""
    rng = np.random.RandomState(seed)
    truth = {}
    for split, n, (w, h) in (('train', n_train, (128, 96)), ('val', 2, (96, 128))):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        (root / 'labels' / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            name = f'{split}_{i}.jpg'
            cv2.imwrite(str(root / 'images' / split / name), rng.randint(0, 255, (h, w, 3), dtype=np.uint8))
            if split == 'train' and i == 1:
                truth[f'images/{split}/{name}'] = ([], [])
                continue
            lines, boxes, labels = [], [], []
            for k in range(1 + i % 3):
                x1, y1 = 8 + 20 * k, 6 + 16 * k
                bw, bh = 32 + 4 * k, 24 + 2 * k
                cls = (i + k) % len(names)
                lines.append(f'{cls} {(x1 + bw / 2) / w:.6f} {(y1 + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}')
                boxes.append([x1, y1, x1 + bw, y1 + bh])
                labels.append(cls)
            (root / 'labels' / split / f'{split}_{i}.txt').write_text('\n'.join(lines) + '\n')
            truth[f'images/{split}/{name}'] = (boxes, labels)
    names_yaml = '\n'.join(f'  {k}: {n}' for k, n in enumerate(names)) if dict_names else \
        '\n'.join(f'  - {n}' for n in names)
    (root / 'data.yaml').write_text(f'path: .\ntrain: images/train\nval: images/val\nnames:\n{names_yaml}\n')
    return str(root / 'data.yaml'), truth


@pytest.mark.parametrize('dict_names', [True, False])
def test_yolo_load_exact(tmp_path, dict_names):
    data_yaml, truth = make_yolo(tmp_path, dict_names=dict_names)
    ds = YOLODataset(ann_file=data_yaml, split='train', pipeline=[], test_mode=True)
    assert ds.CLASSES == ('ellipse', 'rectangle', 'triangle') and ds.img_prefix == str(tmp_path)
    assert len(ds) == 4
    for info in ds.data_infos:
        boxes, labels = truth[info['filename']]
        assert (info['width'], info['height']) == (128, 96)
        np.testing.assert_allclose(info['ann']['bboxes'], np.array(boxes, np.float32).reshape(-1, 4), atol=1e-3)
        np.testing.assert_array_equal(info['ann']['labels'], labels)
    train = YOLODataset(ann_file=data_yaml, split='train', pipeline=[])
    assert 'images/train/train_1.jpg' not in [d['filename'] for d in train.data_infos]  # no label file
    val = YOLODataset(ann_file=data_yaml, split='val', pipeline=[], test_mode=True)
    assert [(d['width'], d['height']) for d in val.data_infos] == [(96, 128)] * 2

    sub = YOLODataset(ann_file=data_yaml, split='train', pipeline=[], test_mode=True, classes=('triangle', 'ellipse'))
    for info in sub.data_infos:
        boxes, labels = truth[info['filename']]
        keep = [j for j, c in enumerate(labels) if c in (0, 2)]
        np.testing.assert_allclose(info['ann']['bboxes'], np.array([boxes[j] for j in keep]).reshape(-1, 4),
                                   atol=1e-3)
        np.testing.assert_array_equal(info['ann']['labels'], [1 if labels[j] == 0 else 0 for j in keep])


def test_yolo_evaluate(tmp_path):
    data_yaml, _ = make_yolo(tmp_path)
    ds = YOLODataset(ann_file=data_yaml, split='train', pipeline=[], test_mode=True)
    res = ds.evaluate(perfect(ds))
    assert res['bbox_mAP'] == 1.0 and res['bbox_mAP_50'] == 1.0 and 'bbox_mAP_copypaste' in res
    assert ds.evaluate(perfect(ds), metric='mAP') == {'mAP': 1.0}
    worse = perfect(ds)
    worse[0] = [np.zeros((0, 5), np.float32) for _ in ds.CLASSES]
    assert ds.evaluate(worse)['bbox_mAP'] < 1.0


def test_yolo_errors(tmp_path):
    data_yaml, _ = make_yolo(tmp_path)
    label = tmp_path / 'labels' / 'train' / 'train_0.txt'
    good = label.read_text()
    for bad, why in (('0 0.5 0.5 0.2\n', r'want "class cx cy w h"'), ('0 0.5 0.5 x 0.2\n', 'not all values'),
                     ('3 0.5 0.5 0.2 0.2\n', r'class 3 is not an integer in \[0, 3\)'),
                     ('0 0.5 0.5 1.2 0.2\n', r'normalised to \[0, 1\]')):
        label.write_text(good + bad)
        with pytest.raises(AnnotationError, match=rf'train_0.txt line 2 .*{why}'):
            YOLODataset(ann_file=data_yaml, split='train', pipeline=[])
    label.write_text(good)
    with pytest.raises(AnnotationError, match=r"has no 'test' split"):
        YOLODataset(ann_file=data_yaml, split='test', pipeline=[])
    with pytest.raises(AnnotationError, match=r"classes \['dog'\]"):
        YOLODataset(ann_file=data_yaml, split='train', pipeline=[], classes=('dog',))


def test_yolo2coco_matches_dataset(tmp_path):
    data_yaml, _ = make_yolo(tmp_path / 'yolo')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/dataset_converters/yolo2coco.py'), data_yaml,
                          str(tmp_path / 'coco')], cwd=ROOT, env=run_env(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    for split in ('train', 'val'):
        path = tmp_path / 'coco' / f'instances_{split}.json'
        yolo = YOLODataset(ann_file=data_yaml, split=split, pipeline=[], test_mode=True)
        coco = CocoDataset(ann_file=str(path), img_prefix=yolo.img_prefix, pipeline=[], test_mode=True,
                           classes=yolo.CLASSES)
        assert [d['filename'] for d in coco.data_infos] == [d['filename'] for d in yolo.data_infos]
        for i in range(len(yolo)):
            a, b = coco.get_ann_info(i), yolo.get_ann_info(i)
            np.testing.assert_allclose(a['bboxes'], b['bboxes'], atol=1e-4)
            np.testing.assert_array_equal(a['labels'], b['labels'])


def test_yolo_trains_one_epoch(tmp_path):
    data_yaml, _ = make_yolo(tmp_path / 'yolo', n_train=4)
    extra = f'''
        custom_imports = dict(imports=['mmdet.datasets.yolo'])
        data = dict(
            samples_per_gpu=2, workers_per_gpu=0,
            train=dict(type='YOLODataset', ann_file={data_yaml!r}, split='train', img_prefix=None,
                       pipeline=train_pipeline),
            val=dict(type='YOLODataset', ann_file={data_yaml!r}, split='val', img_prefix=None,
                     pipeline=test_pipeline),
            test=dict(type='YOLODataset', ann_file={data_yaml!r}, split='val', img_prefix=None,
                      pipeline=test_pipeline))
        '''
    cfg = write_user_config(tmp_path / 'yolo_vfnet.py', str(tmp_path / 'unused'), epochs=1, extra=extra)
    work = tmp_path / 'work'
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/train.py'), cfg, '--work-dir', str(work),
                          '--seed', '0'], cwd=ROOT, env=run_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert (work / 'epoch_1.pth').is_file()
    assert 'bbox_mAP' in out.stdout + out.stderr  # evaluated on the YOLO val split
