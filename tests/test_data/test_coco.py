import copy
import json
import os.path as osp

import numpy as np
import pytest

from mmdet.datasets import AnnotationError, CocoDataset, CustomDataset, ImageReadError, build_dataset

PIPE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
        dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
CLASSES = ('ellipse', 'rectangle', 'triangle')


def coco(shapes_data, split='val', **kw):
    return CocoDataset(ann_file=osp.join(shapes_data, 'annotations', f'instances_{split}.json'),
                       img_prefix=osp.join(shapes_data, split), pipeline=PIPE, classes=CLASSES, **kw)


def gt_results(ds, noise=0.0):
    """Detections equal to the ground truth (score 1) in the 2.x result format."""
    out = []
    for i in range(len(ds)):
        ann = ds.get_ann_info(i)
        per = [np.zeros((0, 5), np.float32) for _ in CLASSES]
        for box, label in zip(ann['bboxes'], ann['labels']):
            per[label] = np.vstack([per[label], np.append(box + noise, 1.0)[None]]).astype(np.float32)
        out.append(per)
    return out


def test_coco_load_and_sample(shapes_data):
    ds = coco(shapes_data, 'train')
    assert len(ds) == 8 and ds.CLASSES == CLASSES and set(ds.flag) <= {0, 1}
    data = ds[0]
    assert data['img'].data.shape[0] == 3 and data['gt_bboxes'].data.shape[1] == 4
    assert data['img_metas'].data['filename'].endswith('train_00000.jpg')


def test_coco_evaluate_perfect_and_classwise(shapes_data, capsys):
    ds = coco(shapes_data, test_mode=True)
    res = ds.evaluate(gt_results(ds), metric='bbox', classwise=True)
    assert res['bbox_mAP'] == pytest.approx(1.0) and res['bbox_mAP_50'] == pytest.approx(1.0)
    printed = capsys.readouterr()
    assert 'Average Precision' in printed.out + printed.err
    assert 'ellipse' in printed.out + printed.err
    worse = ds.evaluate(gt_results(ds, noise=6.0), metric='bbox')
    assert worse['bbox_mAP'] < 0.9


def test_format_results_writes_json(shapes_data, tmp_path):
    ds = coco(shapes_data, test_mode=True)
    files, _ = ds.format_results(gt_results(ds), jsonfile_prefix=str(tmp_path / 'r'))
    dets = json.load(open(files['bbox']))
    assert dets and set(dets[0]) == {'image_id', 'category_id', 'bbox', 'score'}


def test_empty_results_evaluate_to_zero(shapes_data):
    ds = coco(shapes_data, test_mode=True)
    empty = [[np.zeros((0, 5), np.float32) for _ in CLASSES] for _ in range(len(ds))]
    assert ds.evaluate(empty)['bbox_mAP'] == 0


def test_bad_annotation_files_are_named(tmp_path, shapes_data):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(AnnotationError, match='bad.json'):
        CocoDataset(ann_file=str(bad), pipeline=PIPE, classes=CLASSES)
    ann = json.load(open(osp.join(shapes_data, 'annotations', 'instances_val.json')))
    ann['annotations'][0]['category_id'] = 99
    unknown = tmp_path / 'unknown_cat.json'
    unknown.write_text(json.dumps(ann))
    with pytest.raises(AnnotationError, match='99'):
        CocoDataset(ann_file=str(unknown), pipeline=PIPE, classes=CLASSES)
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        CocoDataset(ann_file=str(tmp_path / 'nowhere.json'), pipeline=PIPE)


def test_degenerate_boxes_dropped_and_crowd_ignored(tmp_path, shapes_data):
    ann = json.load(open(osp.join(shapes_data, 'annotations', 'instances_val.json')))
    img = ann['images'][0]
    base = dict(image_id=img['id'], category_id=1, iscrowd=0)
    extra = [dict(base, id=1001, bbox=[5, 5, 0, 10], area=0),  # zero width
             dict(base, id=1002, bbox=[img['width'] + 5, 5, 10, 10], area=100),  # outside the image
             dict(base, id=1003, bbox=[5, 5, 20, 20], area=400, iscrowd=1)]  # crowd -> ignore
    ann['annotations'] += extra
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(ann))
    ds = CocoDataset(ann_file=str(path), img_prefix=osp.join(shapes_data, 'val'), pipeline=PIPE, classes=CLASSES)
    clean = coco(shapes_data)
    idx = [i for i, info in enumerate(ds.data_infos) if info['id'] == img['id']][0]
    assert len(ds.get_ann_info(idx)['bboxes']) == len(clean.get_ann_info(idx)['bboxes'])
    assert ds.get_ann_info(idx)['bboxes_ignore'].tolist() == [[5, 5, 25, 25]]


def test_corrupt_image_named_or_skipped(tmp_path, shapes_data):
    import shutil
    root = tmp_path / 'copy'
    shutil.copytree(shapes_data, root)
    victim = root / 'train' / 'train_00000.jpg'
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    ds = coco(str(root), 'train')
    with pytest.raises(ImageReadError, match='train_00000.jpg'):
        ds[0]
    tolerant = coco(str(root), 'train', skip_bad_images=True)
    with pytest.warns(UserWarning, match='train_00000.jpg'):
        assert tolerant[0]['img'].data.shape[0] == 3


def test_custom_dataset_middle_format_and_map(tmp_path):
    import pickle

    import cv2
    infos = []
    for i in range(2):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.zeros((40, 60, 3), np.uint8))
        infos.append(dict(filename=f'{i}.png', width=60, height=40,
                          ann=dict(bboxes=np.array([[1, 2, 30, 30]], np.float32), labels=np.array([i]))))
    pickle.dump(infos, open(tmp_path / 'ann.pkl', 'wb'))
    ds = build_dataset(dict(type='CustomDataset', ann_file='ann.pkl', data_root=str(tmp_path), img_prefix='',
                            classes=('a', 'b'), pipeline=PIPE, min_size=0))
    assert len(ds) == 2 and ds[1]['gt_labels'].data.tolist() == [1]
    perfect = [[np.array([[1, 2, 30, 30, 0.9]], np.float32) if c == i else np.zeros((0, 5), np.float32)
                for c in range(2)] for i in range(2)]
    assert ds.evaluate(perfect)['mAP'] == pytest.approx(1.0)
    wrong = copy.deepcopy(perfect)
    wrong[0] = [np.zeros((0, 5), np.float32), np.array([[1, 2, 30, 30, 0.5]], np.float32)]  # image 0: wrong class
    # class a: no detection (AP 0); class b: the true positive outranks the false one (AP 1)
    assert ds.evaluate(wrong)['mAP'] == pytest.approx(0.5)
    bad = copy.deepcopy(infos)
    bad[0]['ann']['labels'] = np.array([0, 1])
    pickle.dump(bad, open(tmp_path / 'bad.pkl', 'wb'))
    with pytest.raises(AnnotationError, match='0.png'):
        CustomDataset(ann_file=str(tmp_path / 'bad.pkl'), pipeline=PIPE, classes=('a', 'b'))


def test_concat_and_repeat(shapes_data):
    cfg = dict(type='CocoDataset', ann_file=osp.join(shapes_data, 'annotations', 'instances_val.json'),
               img_prefix=osp.join(shapes_data, 'val'), pipeline=PIPE, classes=CLASSES, test_mode=True)
    rep = build_dataset(dict(type='RepeatDataset', times=3, dataset=cfg))
    assert len(rep) == 12
    cat = build_dataset([cfg, cfg])
    assert len(cat) == 8
    res = cat.evaluate(gt_results(coco(shapes_data, test_mode=True)) * 2)
    assert res['0_bbox_mAP'] == pytest.approx(1.0) and res['1_bbox_mAP'] == pytest.approx(1.0)
