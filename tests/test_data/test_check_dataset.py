"""The pre-flight dataset check (mmdet/datasets/check.py, tools/misc/check_dataset.py) on generated
datasets with planted defects: each defect is named by file / image id / annotation id, nothing
else is reported, and a clean dataset passes."""
import copy
import json
import os
import os.path as osp
import pickle
import shutil
import sys

import numpy as np
import pytest

import mmdet.datasets  # noqa: F401  (registers the dataset types)
from mmdet.datasets import build_dataloader, build_dataset
from mmdet.datasets.check import KINDS, check_config, check_dataset_cfg
from mmdet.datasets.synthetic import SHAPE_CLASSES, coco_to_voc
from mmdet.utils.cli import load_config

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from conftest import ROOT, write_user_config  # noqa: E402

sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
import check_dataset  # noqa: E402


def coco_cfg(root, ann_file, classes=SHAPE_CLASSES, **kwargs):
    return dict(type='CocoDataset', ann_file=ann_file, img_prefix=osp.join(root, 'train') + '/', classes=classes,
                pipeline=[], **kwargs)


def found(report):
    """``{(kind, file_name, image_id, ann_id)}`` of a report."""
    return {(f['kind'], f['file_name'], f['image_id'], f['ann_id']) for f in report.findings}


@pytest.fixture(scope='module')
def broken(tmp_path_factory, shapes_data):
    """A copy of the shapes train split with one of each defect planted; returns
    ``(root, ann_file, expected {(kind, file_name, image_id, ann_id)})``."""
    root = str(tmp_path_factory.mktemp('broken'))
    shutil.copytree(osp.join(shapes_data, 'train'), osp.join(root, 'train'))
    with open(osp.join(shapes_data, 'annotations', 'instances_train.json')) as f:
        data = json.load(f)
    images, anns = data['images'], data['annotations']
    next_img, next_ann = max(im['id'] for im in images) + 1, max(a['id'] for a in anns) + 1
    exp = set()
    # missing image: an entry whose file is absent
    images.append(dict(images[0], id=next_img, file_name='gone.jpg'))
    exp.add(('missing_image', 'gone.jpg', next_img, None))
    exp.add(('image_without_boxes', 'gone.jpg', next_img, None))  # it has no annotation either
    # truncated image: half of a JPEG
    trunc = images[1]
    path = osp.join(root, 'train', trunc['file_name'])
    raw = open(path, 'rb').read()
    open(path, 'wb').write(raw[:len(raw) // 2])
    exp.add(('unreadable_image', trunc['file_name'], trunc['id'], None))
    # width/height in the json that disagree with the file
    wrong = images[2]
    wrong['width'] += 10
    exp.add(('size_mismatch', wrong['file_name'], wrong['id'], None))
    # empty image: a real file without annotations
    shutil.copyfile(osp.join(root, 'train', images[3]['file_name']), osp.join(root, 'train', 'empty.jpg'))
    images.append(dict(images[3], id=next_img + 1, file_name='empty.jpg'))
    exp.add(('image_without_boxes', 'empty.jpg', next_img + 1, None))
    # duplicate image id: a second (real, annotated-by-id) file under the id of images[4]
    shutil.copyfile(osp.join(root, 'train', images[4]['file_name']), osp.join(root, 'train', 'dup.jpg'))
    images.append(dict(images[4], file_name='dup.jpg'))
    exp.add(('duplicate_image_id', 'dup.jpg', images[4]['id'], None))
    # box defects on images[5..7] (boxes within a good image)
    im5, im6, im7 = images[5], images[6], images[7]
    base = dict(image_id=im5['id'], category_id=1, iscrowd=0, area=100)
    anns.append(dict(base, id=next_ann, category_id=99, bbox=[5, 5, 10, 10]))
    exp.add(('unknown_category', im5['file_name'], im5['id'], next_ann))
    anns.append(dict(base, id=next_ann + 1, image_id=im6['id'], bbox=[5, float('nan'), 10, 10]))
    exp.add(('nonfinite_box', im6['file_name'], im6['id'], next_ann + 1))
    anns.append(dict(base, id=next_ann + 2, image_id=im7['id'], bbox=[20, 20, -8, 10]))
    exp.add(('negative_box', im7['file_name'], im7['id'], next_ann + 2))
    anns.append(dict(base, id=next_ann + 3, bbox=[im5['width'] + 5, 3, 10, 10]))
    exp.add(('box_outside_image', im5['file_name'], im5['id'], next_ann + 3))
    # class-name mismatch: the json says 'Triangle', the config 'triangle'
    data['categories'][2]['name'] = 'Triangle'
    exp.add(('class_mismatch', None, None, None))
    ann_file = osp.join(root, 'broken.json')
    with open(ann_file, 'w') as f:
        json.dump(data, f)  # NaN is written as the json literal NaN, which Python reads back
    return root, ann_file, exp


def test_broken_coco_names_every_planted_defect_and_nothing_else(broken):
    root, ann_file, expected = broken
    report = check_dataset_cfg(coco_cfg(root, ann_file), images=True, workers=2)
    assert found(report) == expected
    by_kind = report.by_kind()
    assert all(len(v) == 1 for k, v in by_kind.items() if k != 'image_without_boxes')
    mismatch = by_kind['class_mismatch'][0]['message']
    # both lists are named, and the close match is suggested
    assert "['ellipse', 'rectangle', 'triangle']" in mismatch and "['ellipse', 'rectangle', 'Triangle']" in mismatch
    assert "'triangle' -> 'Triangle'" in mismatch
    assert len(report.errors) == 9 and len(report.warnings) == 2
    text = report.to_text()
    assert 'ERRORS (9)' in text and 'WARNINGS (2)' in text and 'gone.jpg' in text and 'class_mismatch (1)' in text
    assert list(report.by_kind())[:1] == ['class_mismatch']  # errors first, in KINDS order
    assert all(KINDS[k][0] == 'error' for k in list(by_kind)[:-1])


def test_fast_mode_checks_existence_but_does_not_decode(broken):
    root, ann_file, expected = broken
    report = check_dataset_cfg(coco_cfg(root, ann_file), images=False)
    decode_only = {e for e in expected if e[0] in ('unreadable_image', 'size_mismatch')}
    assert found(report) == expected - decode_only


def test_cli_on_broken_dataset_exits_1_and_writes_json_and_histograms(broken, tmp_path, capsys, shapes_data):
    root, ann_file, expected = broken
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data)
    out = tmp_path / 'out'
    rc = check_dataset.main([cfg, '--images', '--out-dir', str(out), '--workers', '2', '--cfg-options',
                             f'data.train.ann_file={ann_file}', f'data.train.img_prefix={root}/train/'])
    assert rc == 1
    stdout = capsys.readouterr().out
    assert 'RESULT: 9 error(s), 2 warning(s)' in stdout
    report = json.load(open(out / 'check_report.json'))
    assert not report['ok'] and report['num_errors'] == 9
    assert {(f['kind'], f['file_name'], f['image_id'], f['ann_id']) for f in report['findings']} == expected
    assert report['counts']['image_without_boxes'] == 2


def test_clean_dataset_passes_and_histograms_are_written(shapes_data, tmp_path, capsys):
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data)
    out = tmp_path / 'out'
    assert check_dataset.main([cfg, '--images', '--out-dir', str(out), '--workers', '2']) == 0
    stdout = capsys.readouterr().out
    assert 'RESULT: 0 error(s), 0 warning(s)' in stdout
    for name in ('instances_per_class', 'box_size_hist', 'box_aspect_ratio_hist', 'image_sizes'):
        png = out / f'{name}.png'
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and png.stat().st_size > 1000
    report = json.load(open(out / 'check_report.json'))
    counts = report['stats']['instances_per_class']
    assert list(counts) == list(SHAPE_CLASSES)  # in the config's order
    data = json.load(open(osp.join(shapes_data, 'annotations', 'instances_train.json')))
    assert sum(counts.values()) == len(data['annotations']) == report['stats']['box_sqrt_area']['count']
    assert sum(report['stats']['image_sizes'].values()) == len(data['images'])
    # the val split is checked in test mode (no filtering)
    assert check_dataset.main([cfg, '--split', 'val']) == 0


def test_issue_5568_no_annotations_of_the_classes(shapes_data, tmp_path):
    """mmdet #5568: the config's classes name categories that no annotation uses, so every image
    is filtered out and training fails in the sampler with 'need at least one array to
    concatenate'; the check names the classes and the categories the boxes have."""
    with open(osp.join(shapes_data, 'annotations', 'instances_train.json')) as f:
        data = json.load(f)
    data['categories'] += [dict(id=c['id'] + 10, name=c['name'].upper()) for c in data['categories']]
    for a in data['annotations']:
        a['category_id'] += 10
    ann_file = str(tmp_path / 'upper.json')
    json.dump(data, open(ann_file, 'w'))
    cfg = coco_cfg(shapes_data, ann_file)
    ds = build_dataset(cfg)  # reproduce: it builds, empty ...
    assert len(ds) == 0
    with pytest.raises(ValueError, match='need at least one array to concatenate'):
        next(iter(build_dataloader(ds, 2, 0, dist=False, shuffle=True)))
    report = check_dataset_cfg(cfg)  # ... and the check says why
    kinds = report.counts()
    assert kinds == {'no_training_data': 1, 'category_not_in_classes': 1, 'class_without_instances': 3}
    msg = report.by_kind()['no_training_data'][0]['message']
    assert "['ellipse', 'rectangle', 'triangle']" in msg and "['ELLIPSE', 'RECTANGLE', 'TRIANGLE']" in msg
    # in test mode nothing is filtered, so no error (the classes have no boxes: warnings)
    assert check_dataset_cfg(cfg, test_mode=True).ok


def test_config_classes_absent_from_categories(shapes_data):
    """The other #5568 form: no config class is among the categories (CocoDataset refuses to load)."""
    ann_file = osp.join(shapes_data, 'annotations', 'instances_train.json')
    report = check_dataset_cfg(coco_cfg(shapes_data, ann_file, classes=('car', 'person')))
    assert report.counts() == {'class_mismatch': 1}
    msg = report.errors[0]['message']
    assert "['car', 'person']" in msg and "['ellipse', 'rectangle', 'triangle']" in msg
    # a subset of the categories is fine: the rest is a warning naming them
    report = check_dataset_cfg(coco_cfg(shapes_data, ann_file, classes=('ellipse', 'triangle')))
    assert report.ok and report.counts() == {'category_not_in_classes': 1}
    assert "'rectangle'" in report.warnings[0]['message']


def test_wrappers_and_ann_file_lists_are_unwrapped(shapes_data):
    ann = osp.join(shapes_data, 'annotations', 'instances_train.json')
    cfg = dict(type='RepeatDataset', times=3, dataset=dict(coco_cfg(shapes_data, ann), ann_file=[ann, ann]))
    report = check_dataset_cfg(cfg)
    assert report.ok and len(report.sources) == 2


def test_voc_format(shapes_data, tmp_path):
    voc = coco_to_voc(shapes_data, str(tmp_path / 'VOCdevkit'), difficult_every=5)
    cfg = dict(type='VOCDataset', ann_file=osp.join(voc, 'ImageSets/Main/trainval.txt'), img_prefix=voc + '/',
               classes=SHAPE_CLASSES, pipeline=[])
    clean = check_dataset_cfg(cfg, images=True, workers=2)
    assert clean.ok and set(clean.counts()) == {'crowd_box'}  # the difficult objects
    ids = open(cfg['ann_file']).read().split()
    xml_path = osp.join(voc, 'Annotations', f'{ids[0]}.xml')
    text = open(xml_path).read()
    text = text.replace('</annotation>', '<object><name>hexagon</name><bndbox><xmin>1</xmin><ymin>nan</ymin>'
                        '<xmax>9</xmax><ymax>9</ymax></bndbox></object>\n'
                        '<object><name>ellipse</name><bndbox><xmin>1</xmin><ymin>nan</ymin>'
                        '<xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>')
    open(xml_path, 'w').write(text)
    os.remove(osp.join(voc, 'JPEGImages', f'{ids[1]}.jpg'))
    n_obj = text.count('<object>')
    report = check_dataset_cfg(cfg)
    got = found(report) - found(clean)
    assert got == {('category_not_in_classes', None, None, None),
                   ('nonfinite_box', f'JPEGImages/{ids[0]}.jpg', ids[0], f'object[{n_obj - 1}]'),
                   ('nonfinite_box', f'JPEGImages/{ids[0]}.jpg', ids[0], f'object[{n_obj - 2}]'),
                   ('missing_image', f'JPEGImages/{ids[1]}.jpg', ids[1], None)}
    assert "'hexagon' (1 boxes)" in report.by_kind()['category_not_in_classes'][0]['message']


def test_middle_format(tmp_path, shapes_data):
    img_dir = osp.join(shapes_data, 'train')
    names = sorted(os.listdir(img_dir))[:3]
    infos = [dict(filename=n, width=100, height=80,
                  ann=dict(bboxes=np.array([[10, 10, 50, 40]], np.float32), labels=np.array([0]))) for n in names]
    ok_file = tmp_path / 'ok.pkl'
    pickle.dump(infos, open(ok_file, 'wb'))
    cfg = dict(type='CustomDataset', ann_file=str(ok_file), img_prefix=img_dir, classes=SHAPE_CLASSES, pipeline=[])
    assert found(check_dataset_cfg(cfg)) == set()
    bad = copy.deepcopy(infos)
    bad[0]['ann'] = dict(bboxes=np.array([[10, 10, 50, 40], [30, 30, 20, 40]], np.float32), labels=np.array([0, 7]))
    bad[1]['ann']['bboxes_ignore'] = np.array([[1, 1, 20, 20]], np.float32)
    pickle.dump(bad, open(tmp_path / 'bad.pkl', 'wb'))
    report = check_dataset_cfg(dict(cfg, ann_file=str(tmp_path / 'bad.pkl')))
    assert found(report) == {('unknown_category', names[0], 0, 'bboxes[1]'),
                             ('crowd_box', names[1], 1, 'bboxes_ignore[0]')}
    report = check_dataset_cfg(dict(cfg, ann_file=str(tmp_path / 'nothing.pkl')))
    assert report.counts() == {'bad_annotation_file': 1}


def test_check_config_names_a_missing_split(shapes_data, tmp_path):
    cfg = load_config(write_user_config(tmp_path / 'cfg.py', shapes_data))
    with pytest.raises(KeyError, match='data.nope'):
        check_config(cfg, 'nope')


def test_train_stops_on_5568_with_the_check_s_explanation(shapes_data, tmp_path):
    """tools/train.py runs the fast check of data.train first: instead of the sampler's 'need at least one
    array to concatenate' the run stops naming the config's classes and the annotations' categories."""
    import subprocess
    with open(osp.join(shapes_data, 'annotations', 'instances_train.json')) as f:
        data = json.load(f)
    data['categories'] += [dict(id=c['id'] + 10, name=c['name'].upper()) for c in data['categories']]
    for a in data['annotations']:
        a['category_id'] += 10
    ann_file = str(tmp_path / 'upper.json')
    json.dump(data, open(ann_file, 'w'))
    base = write_user_config(tmp_path / 'base.py', shapes_data, epochs=1)
    cfg = tmp_path / 'c.py'
    cfg.write_text(f"_base_ = {str(base)!r}\ndata = dict(train=dict(ann_file={ann_file!r}))\n")
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(cfg), '--work-dir',
                          str(tmp_path / 'w'), '--no-validate'], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert 'data.train cannot train' in last and "['ELLIPSE', 'RECTANGLE', 'TRIANGLE']" in last, last
    assert 'need at least one array' not in out.stderr


def test_lvis_v1_image_without_coco_url_is_reported_with_the_reason(tmp_path):
    """LVIS v1 names an image's file by its coco_url: a record without one is a missing image, and the
    finding says why (not just that the name is None)."""
    images = [dict(id=1, width=64, height=48, coco_url='http://images.cocodataset.org/val2017/000000000001.jpg'),
              dict(id=2, width=64, height=48)]
    anns = [dict(id=1, image_id=1, category_id=1, bbox=[4, 4, 20, 20], area=400),
            dict(id=2, image_id=2, category_id=1, bbox=[4, 4, 20, 20], area=400)]
    ann_file = tmp_path / 'lvis_v1_val.json'
    ann_file.write_text(json.dumps(dict(images=images, annotations=anns,
                                        categories=[dict(id=1, name='acorn', frequency='r')])))
    (tmp_path / 'val2017').mkdir()
    import cv2
    cv2.imwrite(str(tmp_path / 'val2017' / '000000000001.jpg'), np.zeros((48, 64, 3), np.uint8))
    report = check_dataset_cfg(dict(type='LVISV1Dataset', ann_file=str(ann_file), img_prefix=str(tmp_path) + '/',
                                    classes=('acorn',), pipeline=[]))
    missing = [f for f in report.findings if f['kind'] == 'missing_image']
    assert len(missing) == 1 and missing[0]['image_id'] == 2
    assert "image 2 has no 'coco_url'" in missing[0]['message'] and 'None' not in missing[0]['message']
