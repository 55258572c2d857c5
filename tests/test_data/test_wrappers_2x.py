"""2.x dataset wrappers: ClassBalancedDataset, joint ConcatDataset evaluation,
CLASSES as given, LoadMultiChannelImageFromFiles, builder <-> wrappers imports."""
import math
import re
import os.path as osp
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np
import pytest

from mmdet.datasets import (DATASETS, PIPELINES, ClassBalancedDataset, CocoDataset, ConcatDataset, XMLDataset,
                            build_dataset)
from mmdet.datasets.synthetic import SHAPE_CLASSES, coco_to_voc
from tests.conftest import ROOT
from tests.test_data.test_coco import CLASSES, PIPE, coco, gt_results


class _Fake:
    def __init__(self, cats, classes=('a', 'b', 'c', 'd')):
        self.cats, self.CLASSES = cats, classes
        self.flag = np.array([i % 2 for i in range(len(cats))], np.uint8)

    def __len__(self):
        return len(self.cats)

    def __getitem__(self, idx):
        return idx

    def get_cat_ids(self, idx):
        return list(self.cats[idx])


def _reference_factors(ds, thr, filter_empty_gt):
    """The 2.x loop, written out."""
    freq = defaultdict(int)
    cats_per = []
    for i in range(len(ds)):
        c = set(ds.get_cat_ids(i))
        if not c and not filter_empty_gt:
            c = {len(ds.CLASSES)}
        cats_per.append(c)
        for k in c:
            freq[k] += 1
    rep = {k: max(1.0, math.sqrt(thr / (v / len(ds)))) for k, v in freq.items()}
    return [max(rep[k] for k in c) if c else 1 for c in cats_per]


@pytest.mark.parametrize('filter_empty_gt', [True, False])
def test_class_balanced_factors_match_2x(filter_empty_gt):
    rng = np.random.RandomState(0)
    cats = [list(rng.choice(4, rng.randint(0, 4), p=[0.7, 0.2, 0.08, 0.02])) for _ in range(60)]
    ds = _Fake(cats)
    cbd = ClassBalancedDataset(ds, oversample_thr=0.3, filter_empty_gt=filter_empty_gt)
    ref = _reference_factors(ds, 0.3, filter_empty_gt)
    np.testing.assert_allclose(cbd.repeat_factors, ref)
    want = [i for i, r in enumerate(ref) for _ in range(math.ceil(r))]
    assert cbd.repeat_indices == want and len(cbd) == len(want) > len(ds)
    assert cbd.flag.dtype == np.uint8 and cbd.flag.tolist() == [ds.flag[i] for i in want]
    assert cbd[3] == want[3] and cbd.CLASSES == ds.CLASSES


def test_class_balanced_empty_images():
    ds = _Fake([[0], [], [], [], [0], [0], [0], [0], [1], [0]])
    keep = ClassBalancedDataset(ds, 0.5)  # empty images never oversampled
    assert keep.repeat_factors[1] == 1 and keep.repeat_factors[8] == pytest.approx(math.sqrt(5))
    bg = ClassBalancedDataset(ds, 0.5, filter_empty_gt=False)  # background freq 0.3 -> sqrt(5/3)
    assert bg.repeat_factors[1] == pytest.approx(math.sqrt(0.5 / 0.3))
    assert ClassBalancedDataset(_Fake([[], []]), 1.0).repeat_indices == [0, 1]
    with pytest.raises(TypeError, match='get_cat_ids'):
        ClassBalancedDataset(object(), 1e-3)


def test_class_balanced_from_config(shapes_data):
    inner = dict(type='CocoDataset', ann_file=osp.join(shapes_data, 'annotations', 'instances_train.json'),
                 img_prefix=osp.join(shapes_data, 'train'), pipeline=PIPE, classes=CLASSES)
    cbd = build_dataset(dict(type='ClassBalancedDataset', oversample_thr=1.0, dataset=inner))
    assert isinstance(cbd, ClassBalancedDataset) and isinstance(cbd.dataset, CocoDataset)
    base = cbd.dataset
    np.testing.assert_allclose(cbd.repeat_factors, _reference_factors(base, 1.0, True))
    assert len(cbd) >= len(base) and len(cbd.flag) == len(cbd)
    assert cbd[0]['img'].data.shape[0] == 3
    # coco get_cat_ids: category ids of the image's annotations (2.x)
    assert set(base.get_cat_ids(0)) <= set(base.cat_ids)
    # wrappers nest; default_args reach the innermost dataset only
    rep = build_dataset(dict(type='RepeatDataset', times=2,
                             dataset=dict(type='ClassBalancedDataset', oversample_thr=1e-3, dataset=inner)),
                        dict(test_mode=True))
    assert rep.dataset.dataset.test_mode and len(rep) == 2 * len(rep.dataset)


def test_concat_separate_keys(shapes_data):
    val = coco(shapes_data, 'val', test_mode=True)
    cat = ConcatDataset([val, val])
    out = cat.evaluate(gt_results(val) * 2)
    assert out['0_bbox_mAP'] == 1.0 and out['1_bbox_mAP'] == 1.0 and not any(k.startswith('bbox') for k in out)


def test_concat_joint_coco(shapes_data):
    train = coco(shapes_data, 'train', test_mode=True)
    val = coco(shapes_data, 'val', test_mode=True)
    cat = build_dataset(dict(type='ConcatDataset', separate_eval=False, datasets=[train, val]))
    assert len(cat) == len(train) + len(val)
    assert cat.evaluate(gt_results(train) + gt_results(val))['bbox_mAP'] == 1.0
    # perfect on train, nothing on val: the joint AP lies strictly between the parts
    empty = [[np.zeros((0, 5), np.float32) for _ in CLASSES] for _ in range(len(val))]
    joint = cat.evaluate(gt_results(train) + empty)['bbox_mAP']
    assert 0 < joint < 1
    # the merged ground truth: every used image once, annotation ids unique
    from mmdet.datasets.coco import merge_coco_ground_truth
    gt, ids = merge_coco_ground_truth([train, val])
    assert ids == list(range(1, len(cat) + 1)) and len(gt.anns) == len(train.coco.anns) + len(val.coco.anns)
    with pytest.raises(ValueError, match='results'):
        cat.evaluate(gt_results(train))


def test_concat_joint_needs_one_type(shapes_data, tmp_path):
    val = coco(shapes_data, 'val', test_mode=True)
    root = coco_to_voc(shapes_data, str(tmp_path / 'VOCdevkit'))
    voc = XMLDataset(ann_file=osp.join(root, 'ImageSets/Main/trainval.txt'), img_prefix=root + '/',
                     pipeline=[], classes=SHAPE_CLASSES, test_mode=True)
    with pytest.raises(NotImplementedError, match='one type'):
        ConcatDataset([val, voc], separate_eval=False)


def test_concat_joint_voc(shapes_data, tmp_path):
    root = coco_to_voc(shapes_data, str(tmp_path / 'VOCdevkit'))
    voc = XMLDataset(ann_file=osp.join(root, 'ImageSets/Main/trainval.txt'), img_prefix=root + '/',
                     pipeline=[], classes=SHAPE_CLASSES, test_mode=True)
    results = []
    for i in range(len(voc)):
        ann = voc.get_ann_info(i)
        per = [np.zeros((0, 5), np.float32) for _ in SHAPE_CLASSES]
        for box, label in zip(ann['bboxes'], ann['labels']):
            per[label] = np.vstack([per[label], np.append(box, 1.0)[None]]).astype(np.float32)
        results.append(per)
    cat = ConcatDataset([voc, voc], separate_eval=False)
    assert cat.evaluate(results * 2) == {'mAP': 1.0}
    assert len(voc.data_infos) == len(voc)  # restored
    empty = [[np.zeros((0, 5), np.float32) for _ in SHAPE_CLASSES] for _ in results]
    assert 0 < cat.evaluate(results + empty)['mAP'] < 1


def test_classes_kept_as_given(shapes_data, tmp_path):
    ds = coco(shapes_data, 'val', test_mode=True)
    as_list = CocoDataset(ann_file=ds.ann_file, img_prefix=ds.img_prefix, pipeline=PIPE, classes=list(CLASSES),
                          test_mode=True)
    assert isinstance(as_list.CLASSES, list) and as_list.CLASSES == list(CLASSES)
    assert isinstance(ds.CLASSES, tuple)
    f = tmp_path / 'classes.txt'
    f.write_text('\n'.join(CLASSES) + '\n')
    assert CocoDataset.get_classes(str(f)) == CLASSES
    assert CocoDataset.get_classes(None) is CocoDataset.CLASSES


def test_load_multi_channel(tmp_path):
    a = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    b = 255 - a
    cv2.imwrite(str(tmp_path / 'a.png'), a)
    cv2.imwrite(str(tmp_path / 'b.png'), b)
    load = PIPELINES.get('LoadMultiChannelImageFromFiles')()
    out = load(dict(img_prefix=str(tmp_path), img_info=dict(filename=['a.png', 'b.png'])))
    assert out['img'].shape == (12, 10, 2) and out['img'].dtype == np.uint8
    np.testing.assert_array_equal(out['img'][..., 0], a)
    np.testing.assert_array_equal(out['img'][..., 1], b)
    assert out['filename'] == [str(tmp_path / 'a.png'), str(tmp_path / 'b.png')]
    assert out['ori_filename'] == ['a.png', 'b.png']
    assert out['img_shape'] == out['ori_shape'] == out['pad_shape'] == (12, 10, 2) and out['scale_factor'] == 1.0
    assert out['img_norm_cfg']['mean'].tolist() == [0, 0] and out['img_norm_cfg']['std'].tolist() == [1, 1]
    assert out['img_norm_cfg']['to_rgb'] is False
    f32 = PIPELINES.get('LoadMultiChannelImageFromFiles')(to_float32=True)(
        dict(img_prefix=None, img_info=dict(filename=[str(tmp_path / 'a.png')])))
    assert f32['img'].dtype == np.float32 and f32['img'].shape == (12, 10, 1)
    with pytest.raises(TypeError, match='list'):
        load(dict(img_prefix=None, img_info=dict(filename='a.png')))
    with pytest.raises(OSError, match='not found'):
        load(dict(img_prefix=str(tmp_path), img_info=dict(filename=['a.png', 'missing.png'])))


def test_builder_does_not_import_wrappers():
    src = open(osp.join(ROOT, 'mmdet', 'datasets', 'builder.py')).read()
    assert not re.search(r'(from|import)\s+[\w.]*dataset_wrappers', src)
    code = ('import mmdet.datasets.dataset_wrappers as w, mmdet.datasets.builder as b; '
            'from mmdet.datasets.builder import DATASETS, PIPELINES, build_dataset, build_dataloader; '
            'assert DATASETS.get("ClassBalancedDataset") is w.ClassBalancedDataset')
    subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True)


def test_custom_wrapper_dispatch():
    @DATASETS.register_module(force=True)
    class _TwiceForTest:
        WRAPS = 'dataset'

        def __init__(self, dataset):
            self.dataset = dataset

    built = build_dataset(dict(type='_TwiceForTest', dataset=dict(type='ConcatDataset', datasets=[_Fake([[0]])])))
    assert isinstance(built.dataset, ConcatDataset) and len(built.dataset) == 1


def test_val_workflow_cfg_keeps_transforming_wrappers_and_drops_sampling_ones():
    from mmdet.datasets.builder import val_workflow_cfg
    import mmdet.datasets.multi_image_mix  # noqa: F401  (registers MultiImageMixDataset)
    train_pipe = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)]
    val = dict(type='CocoDataset', ann_file='val.json', img_prefix='val/', pipeline=['test steps'])
    plain = dict(type='CocoDataset', ann_file='train.json', img_prefix='train/', pipeline=train_pipe)
    want = dict(val, pipeline=train_pipe)
    assert val_workflow_cfg(plain, val) == want
    assert val['pipeline'] == ['test steps']  # inputs untouched
    balanced = dict(type='ClassBalancedDataset', oversample_thr=0.1,
                    dataset=dict(type='RepeatDataset', times=3, dataset=plain))
    assert val_workflow_cfg(balanced, val) == want
    assert val_workflow_cfg(dict(type='ConcatDataset', datasets=[plain, dict(plain, pipeline=[])]), val) == want
    assert val_workflow_cfg([plain], val) == want
    mix = dict(type='MultiImageMixDataset', pipeline=[dict(type='Mosaic', img_scale=(64, 64))],
               dataset=dict(plain, pipeline=train_pipe))
    assert val_workflow_cfg(mix, val) == dict(mix, dataset=want)

    class ListMixForTest:  # a transforming wrapper over a list keeps the list
        WRAPS = 'datasets'
    if 'ListMixForTest' not in DATASETS.module_dict:
        DATASETS.register_module(module=ListMixForTest)
    list_mix = dict(type='ListMixForTest', datasets=[plain, dict(plain, pipeline=[])])
    assert val_workflow_cfg(list_mix, val) == dict(list_mix, datasets=[want])
    with pytest.raises(KeyError, match=r"data.train \(CocoDataset\) has no 'pipeline'"):
        val_workflow_cfg(dict(type='CocoDataset', ann_file='x.json'), val)
