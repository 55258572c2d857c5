"""Issue 21: 2.x configs using the listed transforms, schedules and hooks each train 1 epoch on the
generated shapes data with tools/train.py.

item -> config:
- PhotoMetricDistortion, Expand, MinIoURandomCrop; lr 'exp' + warmup 'exp'; EmptyCacheHook -> ssd_exp
- AutoAugment (Shear, Rotate, Translate, ColorTransform, EqualizeTransform, BrightnessTransform,
  ContrastTransform); lr 'inv' by_epoch=False + warmup 'constant'; LinearMomentumEMAHook -> autoaug_inv
- RandomCenterCropPad; lr 'CosineRestart'; ExpMomentumEMAHook; auto_scale_lr + --auto-scale-lr -> ccp_restart
- lr 'cyclic' + momentum 'cyclic' -> cyclic; lr 'OneCycle' -> onecycle
- lr 'step' with gamma and list steps -> step_gamma
Not yet covered: datasets (LVIS, WIDER Face, Cityscapes, ClassBalancedDataset), Albu, CutOut, poly,
FlatCosineAnnealing, GradientCumulativeOptimizerHook, EarlyStoppingHook, train+val workflow.
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


def pipe(steps):
    return f"train_pipeline = {HEAD} + [{steps}] + {TAIL}\ndata['train']['pipeline'] = train_pipeline\n"


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
    'step_gamma': ("lr_config = dict(_delete_=True, policy='step', step=[1, 2], gamma=0.5, warmup='linear', "
                   "warmup_iters=2)\n", []),
}


@pytest.mark.parametrize('name', list(CONFIGS))
def test_recipe_config_trains_one_epoch(tmp_path, shapes_data, name):
    extra, args = CONFIGS[name]
    cfg = write_user_config(tmp_path / f'{name}.py', shapes_data, epochs=1,
                            extra=f'img_norm_cfg = {NORM}\n' + extra)
    work = tmp_path / 'work'
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/train.py'), cfg, '--work-dir', str(work),
                          '--seed', '0'] + args, cwd=ROOT, env=run_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    assert (work / 'epoch_1.pth').is_file() or (work / 'latest.pth').is_file()
    losses = []
    for log in glob.glob(str(work / '*.log.json')):
        for line in open(log):
            rec = json.loads(line)
            if rec.get('mode') == 'train' and 'loss' in rec:
                losses.append(rec['loss'])
    assert losses and all(math.isfinite(v) for v in losses), losses
