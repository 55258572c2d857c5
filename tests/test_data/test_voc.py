"""Pascal VOC: XML reading (difficult objects ignored), VOC mAP, the converter,
and a VOC-format generated dataset through tools/train.py and tools/test.py."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmdet.core.evaluation.mean_ap import average_precision, eval_map
from mmdet.datasets import VOCDataset, XMLDataset, build_dataset
from mmdet.datasets.synthetic import SHAPE_CLASSES, coco_to_voc
from tests.conftest import ROOT, run_env


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory, shapes_data):
    return coco_to_voc(shapes_data, str(tmp_path_factory.mktemp('voc') / 'VOCdevkit'), difficult_every=4)


def test_xml_dataset_reads_boxes_and_ignores_difficult(voc_root):
    ds = XMLDataset(ann_file=osp.join(voc_root, 'ImageSets/Main/trainval.txt'), img_prefix=voc_root + '/',
                    pipeline=[], classes=SHAPE_CLASSES, test_mode=True)
    anns = [ds.get_ann_info(i) for i in range(len(ds))]
    n_obj = sum(len(a['bboxes']) for a in anns)
    n_ign = sum(len(a['bboxes_ignore']) for a in anns)
    assert len(ds) == 8 and n_obj > 0 and n_ign > 0
    assert all(a['bboxes'].dtype == np.float32 and a['labels'].max(initial=0) < 3 for a in anns)
    assert ds.data_infos[0]['filename'].startswith('JPEGImages/')


def test_voc_map_modes():
    # precision 1 up to recall 0.5, then nothing: 11-point = 6/11, area = 0.5
    rec, prec = np.array([0.25, 0.5]), np.array([1.0, 1.0])
    assert average_precision(rec, prec, '11points') == pytest.approx(6 / 11)
    assert average_precision(rec, prec, 'area') == pytest.approx(0.5)
    # a detection on a difficult gt is neither a TP nor an FP
    ann = dict(bboxes=np.array([[0, 0, 10, 10]], np.float32), labels=np.array([0]),
               bboxes_ignore=np.array([[50, 50, 60, 60]], np.float32), labels_ignore=np.array([0]))
    dets = [[np.array([[0, 0, 10, 10, 0.9], [50, 50, 60, 60, 0.95]], np.float32)]]
    mean_ap, per_class = eval_map(dets, [ann], mode='area')
    assert mean_ap == pytest.approx(1.0) and per_class[0]['num_gts'] == 1


def test_converter_writes_coco_json(voc_root, tmp_path):
    devkit = osp.dirname(voc_root)
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/dataset_converters/pascal_voc.py'), devkit,
                          '-o', str(tmp_path), '--classes', ','.join(SHAPE_CLASSES)],
                         capture_output=True, text=True, env=run_env())
    assert out.returncode == 0, out.stderr
    coco = json.load(open(tmp_path / 'voc07_trainval.json'))
    assert len(coco['images']) == 8 and {a['iscrowd'] for a in coco['annotations']} == {0, 1}
    assert coco['images'][0]['file_name'].startswith('JPEGImages/')


def test_voc_dataset_year_and_eval_mode(voc_root):
    ds = build_dataset(dict(type='VOCDataset', ann_file=osp.join(voc_root, 'ImageSets/Main/test.txt'),
                            img_prefix=voc_root + '/', pipeline=[], classes=SHAPE_CLASSES, test_mode=True))
    assert isinstance(ds, VOCDataset) and ds.year == 2007
    perfect = [[np.concatenate([a['bboxes'][a['labels'] == c], np.ones((int((a['labels'] == c).sum()), 1))], 1)
                for c in range(3)] for a in (ds.get_ann_info(i) for i in range(len(ds)))]
    assert ds.evaluate(perfect)['mAP'] == 1.0


def test_voc_format_dataset_trains_and_evaluates(voc_root, tmp_path):
    cfg = tmp_path / 'voc_cfg.py'
    cfg.write_text(f'''
_base_ = {osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_voc0712.py')!r}
classes = {SHAPE_CLASSES!r}
model = dict(pretrained=None, backbone=dict(depth=18, frozen_stages=-1, norm_eval=False),
             neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
             bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1,
                            norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
             test_cfg=dict(score_thr=0.01))
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='Resize', img_scale=(160, 128), keep_ratio=True), dict(type='RandomFlip', flip_ratio=0.5),
                  dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                  dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
test_pipeline = [dict(type='LoadImageFromFile'),
                 dict(type='MultiScaleFlipAug', img_scale=(160, 128), flip=False,
                      transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                                  dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                                  dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])])]
voc = {voc_root + '/'!r}
data = dict(samples_per_gpu=2, workers_per_gpu=0,
            train=dict(_delete_=True, type='VOCDataset', classes=classes, ann_file=voc + 'ImageSets/Main/trainval.txt',
                       img_prefix=voc, pipeline=train_pipeline),
            val=dict(classes=classes, ann_file=voc + 'ImageSets/Main/test.txt', img_prefix=voc,
                     pipeline=test_pipeline),
            test=dict(classes=classes, ann_file=voc + 'ImageSets/Main/test.txt', img_prefix=voc,
                      pipeline=test_pipeline))
optimizer = dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=1e-4)
lr_config = dict(_delete_=True, policy='fixed')
runner = dict(max_epochs=1)
log_config = dict(interval=1)
''')
    work = tmp_path / 'work'
    env = run_env()
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/train.py'), str(cfg), '--work-dir', str(work)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "'mAP'" in out.stdout + out.stderr or 'mAP' in (out.stdout + out.stderr)
    test = subprocess.run([sys.executable, osp.join(ROOT, 'tools/test.py'), str(cfg), str(work / 'latest.pth'),
                           '--eval', 'mAP'], capture_output=True, text=True, env=env, timeout=600)
    assert test.returncode == 0, test.stderr[-3000:]
    assert "{'mAP': " in test.stdout and 'ellipse' in test.stdout + test.stderr
