"""Issue 21: 2.x configs using the listed transforms, schedules and hooks each train 1 epoch on the
generated shapes data with tools/train.py.

item -> config:
- PhotoMetricDistortion, Expand, MinIoURandomCrop; lr 'exp' + warmup 'exp'; EmptyCacheHook -> ssd_exp
- AutoAugment (Shear, Rotate, Translate, ColorTransform, EqualizeTransform, BrightnessTransform,
  ContrastTransform); lr 'inv' by_epoch=False + warmup 'constant'; LinearMomentumEMAHook -> autoaug_inv
- RandomCenterCropPad; lr 'CosineRestart'; ExpMomentumEMAHook; auto_scale_lr + --auto-scale-lr -> ccp_restart
- lr 'cyclic' + momentum 'cyclic' -> cyclic; lr 'OneCycle' -> onecycle
- Corrupt; lr 'step' with gamma and list steps; EMAHook -> corrupt_step_ema
- Albu (bbox_params, keymap), CutOut; lr 'poly' + warmup by ratio; GradientCumulativeOptimizerHook -> albu_poly_accum
- ClassBalancedDataset; lr 'FlatCosineAnnealing'; workflow [('train', 1), ('val', 1)]; EarlyStoppingHook on the
  val loss -> balanced_flatcos_val (the val step's losses are checked in the log)
- 2.28's YOLOX train and test pipelines (Pad(pad_to_square, pad_val=dict(img=...)), FilterAnnotations) -> yolox_228
- CopyPaste (by box) in MultiImageMixDataset, RandomShift, RandomCrop(recompute_bbox) -> copypaste_shift
- LVISV1Dataset, LVISV05Dataset, CityscapesDataset, WIDERFaceDataset: the shapes data written in their formats ->
  test_dataset_config_trains_one_epoch
"""
import glob
import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_env, write_user_config

NORM = "dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)"
HEAD = "[dict(type='LoadImageFromFile', to_float32=True), dict(type='LoadAnnotations', with_bbox=True)]"
TAIL = ("[dict(type='Resize', img_scale=(160, 128), keep_ratio=True), dict(type='Normalize', **img_norm_cfg),"
        " dict(type='Pad', size_divisor=32), dict(type='DefaultFormatBundle'),"
        " dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]")


def pipe(steps, head=HEAD):
    return f"train_pipeline = {head} + [{steps}] + {TAIL}\ndata['train']['pipeline'] = train_pipeline\n"


CONFIGS = {
    'ssd_exp': (pipe("dict(type='PhotoMetricDistortion'), dict(type='Expand', mean=img_norm_cfg['mean'], "
                     "to_rgb=True, ratio_range=(1, 2)), dict(type='MinIoURandomCrop')")
                + "lr_config = dict(_delete_=True, policy='exp', gamma=0.9, warmup='exp', warmup_iters=2)\n"
                "custom_hooks = [dict(type='EmptyCacheHook', after_epoch=True)]\n", []),
    'autoaug_inv': (pipe("dict(type='AutoAugment', policies=[[dict(type='Rotate', level=6, prob=1.0), "
                         "dict(type='ColorTransform', level=6, prob=1.0)], [dict(type='Shear', level=6, prob=1.0)], "
                         "[dict(type='Translate', level=4, prob=1.0), dict(type='EqualizeTransform', prob=1.0)], "
                         "[dict(type='BrightnessTransform', level=5, prob=1.0), "
                         "dict(type='ContrastTransform', level=5, prob=1.0)]])")
                    + "lr_config = dict(_delete_=True, policy='inv', gamma=1e-3, power=0.75, by_epoch=False, "
                    "warmup='constant', warmup_iters=2, warmup_ratio=0.5)\n"
                    "custom_hooks = [dict(type='LinearMomentumEMAHook', warm_up=2, priority=49)]\n", []),
    'ccp_restart': (pipe("dict(type='RandomCenterCropPad', crop_size=(96, 96), ratios=(0.9, 1.0, 1.1), "
                         "mean=img_norm_cfg['mean'], std=img_norm_cfg['std'], to_rgb=True, test_mode=False, "
                         "test_pad_mode=None)")
                    + "lr_config = dict(_delete_=True, policy='CosineRestart', periods=[2, 2], "
                    "restart_weights=[1, 0.5], min_lr=1e-5, by_epoch=False)\n"
                    "custom_hooks = [dict(type='ExpMomentumEMAHook', total_iter=10, priority=49)]\n"
                    "auto_scale_lr = dict(enable=True, base_batch_size=16)\n", ['--auto-scale-lr']),
    'cyclic': ("lr_config = dict(_delete_=True, policy='cyclic', target_ratio=(10, 1e-4), cyclic_times=1, "
               "step_ratio_up=0.4)\nmomentum_config = dict(policy='cyclic', target_ratio=(0.85 / 0.95, 1), "
               "cyclic_times=1, step_ratio_up=0.4)\n", []),
    'onecycle': ("lr_config = dict(_delete_=True, policy='OneCycle', max_lr=0.01, pct_start=0.3)\n", []),
    'corrupt_step_ema': (pipe("dict(type='Corrupt', corruption='gaussian_noise', severity=1)")
                         + "lr_config = dict(_delete_=True, policy='step', step=[1, 2], gamma=0.5, warmup='linear', "
                         "warmup_iters=2)\ncustom_hooks = [dict(type='EMAHook', momentum=0.001, priority=49)]\n", []),
    'albu_poly_accum': (pipe("dict(type='Albu', transforms=[dict(type='RandomBrightnessContrast', p=1.0), "
                             "dict(type='Affine', translate_percent=0.05, scale=(0.9, 1.1), p=1.0)], "
                             "bbox_params=dict(type='BboxParams', format='pascal_voc', label_fields=['gt_labels'], "
                             "min_visibility=0.0, filter_lost_elements=True), "
                             "keymap=dict(img='image', gt_bboxes='bboxes'), skip_img_without_anno=True), "
                             "dict(type='CutOut', n_holes=(1, 3), cutout_shape=[(8, 8), (16, 16)])",
                             head=HEAD.replace(', to_float32=True', ''))  # albumentations: uint8 (0-255)
                        + "optimizer_config = dict(_delete_=True, type='GradientCumulativeOptimizerHook', "
                        "cumulative_iters=2)\n"
                        "lr_config = dict(_delete_=True, policy='poly', power=0.9, min_lr=1e-4, by_epoch=False, "
                        "warmup='linear', warmup_iters=2, warmup_ratio=0.1)\n", []),
    'balanced_flatcos_val': ("data['train'] = dict(_delete_=True, type='ClassBalancedDataset', oversample_thr=0.5, "
                             "dataset=dict(type='CocoDataset', **data['train']))\n"
                             "lr_config = dict(_delete_=True, policy='FlatCosineAnnealing', start_percent=0.5, "
                             "min_lr_ratio=0.01, by_epoch=False)\n"
                             "workflow = [('train', 1), ('val', 1)]\n"
                             "custom_hooks = [dict(type='EarlyStoppingHook', monitor='loss', patience=1)]\n", []),
    # 2.28's YOLOX pipelines as written there (img_scale shrunk): Pad(pad_to_square, dict pad_val) in train
    # and test, FilterAnnotations(keep_empty=False), no Normalize
    'yolox_228': (
        "img_scale = (128, 128)\n"
        "train_pipeline = [dict(type='Mosaic', img_scale=img_scale, pad_val=114.0), "
        "dict(type='RandomAffine', scaling_ratio_range=(0.1, 2), border=(-img_scale[0] // 2, -img_scale[1] // 2)), "
        "dict(type='MixUp', img_scale=img_scale, ratio_range=(0.8, 1.6), pad_val=114.0), "
        "dict(type='YOLOXHSVRandomAug'), dict(type='RandomFlip', flip_ratio=0.5), "
        "dict(type='Resize', img_scale=img_scale, keep_ratio=True), "
        "dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))), "
        "dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False), dict(type='DefaultFormatBundle'), "
        "dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]\n"
        "test_pipeline = [dict(type='LoadImageFromFile'), dict(type='MultiScaleFlipAug', img_scale=img_scale, "
        "flip=False, transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'), "
        "dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))), "
        "dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])])]\n"
        "data['train'] = dict(_delete_=True, type='MultiImageMixDataset', dataset=dict(type='CocoDataset', "
        "classes=classes, ann_file=data['train']['ann_file'], img_prefix=data['train']['img_prefix'], "
        "pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True)], "
        "filter_empty_gt=False), pipeline=train_pipeline)\n"
        "data['val']['pipeline'] = test_pipeline\ndata['test']['pipeline'] = test_pipeline\n"
        "evaluation = dict(interval=1, metric='bbox')\n", []),
    # 2.x's simple_copy_paste recipe, by box: same-size samples (scale jitter, crop, pad) for CopyPaste, then
    # YOLOF's RandomShift and a RandomCrop(recompute_bbox=...) as 2.25's config writes it
    'copypaste_shift': (
        "data['train'] = dict(_delete_=True, type='MultiImageMixDataset', dataset=dict(type='CocoDataset', "
        "classes=classes, ann_file=data['train']['ann_file'], img_prefix=data['train']['img_prefix'], "
        "filter_empty_gt=False, pipeline=[dict(type='LoadImageFromFile'), "
        "dict(type='LoadAnnotations', with_bbox=True, with_mask=False), "
        "dict(type='Resize', img_scale=(128, 128), ratio_range=(0.8, 1.25), multiscale_mode='range', "
        "keep_ratio=True), dict(type='RandomCrop', crop_type='absolute_range', crop_size=(128, 128), "
        "recompute_bbox=True, allow_negative_crop=True), "
        "dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)), dict(type='RandomFlip', flip_ratio=0.5), "
        "dict(type='Pad', size=(128, 128))]), "
        "pipeline=[dict(type='CopyPaste', max_num_pasted=100), "
        "dict(type='RandomShift', shift_ratio=0.5, max_shift_px=16), dict(type='Normalize', **img_norm_cfg), "
        "dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])])\n", []),
}


@pytest.mark.parametrize('name', list(CONFIGS))
def test_recipe_config_trains_one_epoch(tmp_path, shapes_data, name):
    if name == 'albu_poly_accum':
        pytest.importorskip('albumentations')
    if name == 'corrupt_step_ema':
        pytest.importorskip('imagecorruptions')
    extra, args = CONFIGS[name]
    cfg = write_user_config(tmp_path / f'{name}.py', shapes_data, epochs=1,
                            extra=f'img_norm_cfg = {NORM}\n' + extra)
    records, out = train_one_epoch(cfg, tmp_path / 'work', args)
    losses = [r['loss'] for r in records if r.get('mode') == 'train' and 'loss' in r]
    assert losses and all(math.isfinite(v) for v in losses), losses
    if name == 'balanced_flatcos_val':
        val = [r for r in records if r.get('mode') == 'val' and 'loss' in r]
        assert val and all(math.isfinite(r['loss']) and 'loss_bbox_rf' in r for r in val), records
        assert 'EarlyStoppingHook: loss' in out.stdout + out.stderr
    if name == 'yolox_228':  # the test pipeline (square padding) evaluated
        assert any(r.get('mode') == 'val' and 'bbox_mAP' in r for r in records), records


def train_one_epoch(cfg, work, args=()):
    """tools/train.py on ``cfg``: (the .log.json records, the finished process)."""
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/train.py'), cfg, '--work-dir', str(work),
                          '--seed', '0'] + list(args), cwd=ROOT, env=run_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert (work / 'epoch_1.pth').is_file() or (work / 'latest.pth').is_file()
    return [json.loads(line) for log in glob.glob(str(work / '*.log.json')) for line in open(log)], out


def shapes_in_format(fmt, data_root, out):
    """The generated shapes data written as ``fmt`` (LVIS v1 json, Cityscapes' converted COCO json or
    WIDER Face xml), images shared: the config lines that train and evaluate on it."""
    splits = {s: json.load(open(osp.join(data_root, 'annotations', f'instances_{s}.json'))) for s in ('train', 'val')}
    sets = {}
    for split, coco in splits.items():
        if fmt.startswith('lvis'):  # v1 names the file by coco_url, v0.5 by file_name
            v1 = fmt == 'lvis_v1'
            for img in coco['images']:
                img.update(neg_category_ids=[], not_exhaustive_category_ids=[])
                if v1:
                    img['coco_url'] = f'http://images.cocodataset.org/{split}/{img.pop("file_name")}'
            for cat, freq in zip(coco['categories'], 'rcf'):
                cat['frequency'] = freq
            path = out / f'{fmt}_{split}.json'
            path.write_text(json.dumps(coco))
            sets[split] = (f"dict(type={'LVISV1Dataset' if v1 else 'LVISV05Dataset'!r}, classes=classes, "
                           f"ann_file={str(path)!r}, img_prefix={data_root + '/' + ('' if v1 else split + '/')!r})")
        elif fmt == 'cityscapes':
            for cat, name in zip(coco['categories'], ('person', 'rider', 'car')):
                cat['name'] = name
            path = out / f'instancesonly_filtered_gtFine_{split}.json'
            path.write_text(json.dumps(coco))
            sets[split] = (f"dict(type='CityscapesDataset', classes=('person', 'rider', 'car'), "
                           f"ann_file={str(path)!r}, img_prefix={osp.join(data_root, split) + '/'!r})")
        else:  # WIDER Face: <prefix>/Annotations/<id>.xml, images at <prefix>/<folder>/<id>.jpg
            prefix = out / f'WIDER_{split}'
            (prefix / 'Annotations').mkdir(parents=True)
            (prefix / split).symlink_to(osp.join(data_root, split), target_is_directory=True)
            ids = []
            for img in coco['images']:
                ids.append(osp.splitext(img['file_name'])[0])
                objs = ''.join(f'<object><name>face</name><difficult>0</difficult><bndbox><xmin>{x}</xmin>'
                               f'<ymin>{y}</ymin><xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>'
                               for a in coco['annotations'] if a['image_id'] == img['id']
                               for x, y, w, h in [a['bbox']])
                (prefix / 'Annotations' / f'{ids[-1]}.xml').write_text(
                    f"<annotation><folder>{split}</folder><size><width>{img['width']}</width><height>"
                    f"{img['height']}</height><depth>3</depth></size>{objs}</annotation>")
            (out / f'{split}.txt').write_text('\n'.join(ids) + '\n')
            sets[split] = (f"dict(type='WIDERFaceDataset', ann_file={str(out / f'{split}.txt')!r}, "
                           f"img_prefix={str(prefix) + '/'!r})")
    num_classes, metric = (1, 'mAP') if fmt == 'wider_face' else (3, 'bbox')
    return (f"data = dict(samples_per_gpu=2, workers_per_gpu=0, train=dict(_delete_=True, **{sets['train']}, "
            f"pipeline=train_pipeline), val=dict(_delete_=True, **{sets['val']}, pipeline=test_pipeline), "
            f"test=dict(_delete_=True, **{sets['val']}, pipeline=test_pipeline))\n"
            f"model['bbox_head']['num_classes'] = {num_classes}\n"
            f"evaluation = dict(interval=1, metric={metric!r})\n")


@pytest.mark.parametrize('fmt,metric', [('lvis_v1', 'bbox_AP'), ('lvis_v0.5', 'bbox_AP'), ('cityscapes', 'bbox_mAP'),
                                        ('wider_face', 'mAP')])
def test_dataset_config_trains_one_epoch(tmp_path, shapes_data, fmt, metric):
    if fmt.startswith('lvis'):
        pytest.importorskip('lvis')
    cfg = write_user_config(tmp_path / f'{fmt}.py', shapes_data, epochs=1,
                            extra=shapes_in_format(fmt, shapes_data, tmp_path))
    records, out = train_one_epoch(cfg, tmp_path / 'work')
    assert 'data check of data' not in out.stdout + out.stderr  # the pre-flight check finds every image
    assert any(r.get('mode') == 'train' and math.isfinite(r.get('loss', math.nan)) for r in records), records
    evals = [r for r in records if r.get('mode') == 'val' and metric in r]
    assert evals and 0 <= evals[-1][metric] <= 1, records
