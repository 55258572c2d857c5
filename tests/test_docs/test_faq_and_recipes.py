"""docs/faq.md runs as written, and the VFNet recipe configs of configs/vfnet_recipes/ load, build their
training data on the generated shapes dataset, give a batch, and (Mosaic + MixUp + EMA + cosine, the most
involved) train an epoch with tools/train.py.

The FAQ uses the tutorials' block convention (``# file: PATH`` blocks are saved, ``# run`` blocks run; see
tests/test_docs/test_tutorials.py, whose reader and runner are reused) in a workspace that also links
``demo/``. Every code block of the FAQ must be one of the two: the page promises that all of them run.
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from mmdet.datasets import build_dataloader, build_dataset
from mmdet.runner.hooks import HOOKS, build_lr_hook
from mmdet.runner.schedule_preview import preview_schedule
from mmdet.utils import Config
from mmdet.utils.registry import build_from_cfg
from tests.conftest import ROOT, run_env
from tests.test_docs.test_tutorials import SHELLS, make_workspace, read_blocks, run_block, workspace_path

FAQ = osp.join(ROOT, 'docs', 'faq.md')
RECIPE_DIR = osp.join(ROOT, 'configs', 'vfnet_recipes')
RECIPES = sorted(f for f in os.listdir(RECIPE_DIR) if f.endswith('.py'))
SHAPES_CLASSES = ('ellipse', 'rectangle', 'triangle')


# ---------------------------------------------------------------------------------------------- the FAQ
def test_every_faq_code_block_runs(tmp_path):
    with open(FAQ) as f:
        text = f.read()
    blocks = read_blocks(text)
    code = [b for b in blocks if b.lang == 'python' or b.lang in SHELLS]
    not_run = [b.where('faq.md') for b in code if not (b.is_run or b.path)]
    assert not not_run, f'code blocks that neither run nor are saved (the FAQ says every block runs): {not_run}'
    assert sum(b.is_run for b in code) >= 9, 'the FAQ lost its runnable examples'
    work, env = make_workspace(tmp_path)
    os.symlink(osp.join(ROOT, 'demo'), osp.join(work, 'demo'))
    timings = []
    for block in code:
        if block.path:
            path = workspace_path(work, block.path, block.where('faq.md'))
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(block.rest)
        else:
            t0 = time.perf_counter()
            out = run_block(block, 'faq.md', work, env, str(tmp_path / 'blocks'))
            timings.append((block.number, round(time.perf_counter() - t0, 1)))
            if os.environ.get('TUTORIALS_VERBOSE'):
                print(f'\n===== {block.where("faq.md")}\n{out}')
    print('faq.md:', timings)
    # what the last blocks leave behind: the drawing and the demo's per-image files
    assert osp.getsize(osp.join(work, 'work_dirs', 'drawn.jpg')) > 0
    assert sorted(os.listdir(osp.join(work, 'outputs', 'preds'))) == [f'val_{i:05d}.json' for i in range(4)]


# ------------------------------------------------------------------------------------------ the recipes
def recipe(name):
    return Config.fromfile(osp.join(RECIPE_DIR, name))


def types(pipeline):
    return [t['type'] for t in pipeline]


def hooks_of(cfg):
    return [h['type'] for h in cfg.get('custom_hooks', [])]


def check_mosaic(cfg):
    train = cfg.data.train
    assert train.type == 'MultiImageMixDataset' and train.dataset.type == 'CocoDataset'
    assert types(train.dataset.pipeline) == ['LoadImageFromFile', 'LoadAnnotations']
    assert types(train.pipeline)[:4] == ['Mosaic', 'RandomAffine', 'MixUp', 'YOLOXHSVRandomAug']
    assert train.pipeline[1]['border'] == (-400, -400)


def check_ema_cosine(cfg):
    assert hooks_of(cfg) == ['NumClassCheckHook', 'ExpMomentumEMAHook']
    ema = dict(cfg.custom_hooks[1])
    ema.pop('priority')
    assert type(build_from_cfg(ema, HOOKS)).__name__ == 'ExpMomentumEMAHook'
    assert type(build_lr_hook(cfg.lr_config)).__name__ == 'CosineAnnealingLrUpdaterHook'
    rows = preview_schedule(cfg.lr_config, None, max_epochs=12, iters_per_epoch=1000, lr=cfg.optimizer.lr,
                            by_epoch=False)
    lrs = [lr for _, _, lr, _ in rows]
    assert lrs[0] == pytest.approx(0.001)
    assert max(lrs) == pytest.approx(0.01, rel=1e-2)  # not exactly: the cosine already runs under the warm-up
    assert lrs[-1] == pytest.approx(1e-4, rel=0.05)  # min_lr_ratio=0.01, reached at the last iteration
    assert lrs[6000] < lrs[3000] < lrs[1000]  # per iteration, not per epoch
    assert cfg.swa_training is False


def check_ssd(cfg):
    pipe = cfg.data.train.pipeline
    assert pipe[0] == dict(type='LoadImageFromFile', to_float32=True)
    assert types(pipe)[2:5] == ['PhotoMetricDistortion', 'Expand', 'MinIoURandomCrop']


def check_autoaugment(cfg):
    step = cfg.data.train.pipeline[2]
    assert step['type'] == 'AutoAugment' and len(step['policies']) >= 3


def check_grad_accum(cfg):
    hook = build_from_cfg(dict(cfg.optimizer_config), HOOKS)
    assert type(hook).__name__ == 'GradientCumulativeOptimizerHook' and hook.cumulative_iters == 2
    assert cfg.data.samples_per_gpu == 2 and cfg.lr_config.warmup_iters == 1000
    assert type(build_from_cfg(dict(cfg.swa_optimizer_config), HOOKS)).__name__ == 'GradientCumulativeOptimizerHook'


CHECKS = {
    'vfnet_r50_fpn_mosaic_mixup_1x_coco.py': [check_mosaic],
    'vfnet_r50_fpn_ema_cosine_1x_coco.py': [check_ema_cosine],
    'vfnet_r50_fpn_mosaic_ema_cosine_1x_coco.py': [check_mosaic, check_ema_cosine],
    'vfnet_r50_fpn_ssd_aug_1x_coco.py': [check_ssd],
    'vfnet_r50_fpn_autoaugment_1x_coco.py': [check_autoaugment],
    'vfnet_r50_fpn_grad_accum_1x_coco.py': [check_grad_accum],
}


def test_every_recipe_is_checked():
    assert RECIPES == sorted(CHECKS)


@pytest.mark.parametrize('name', RECIPES)
def test_recipe_config(name):
    cfg = recipe(name)
    seed = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    # a recipe changes the training, never the model or the test
    assert cfg.model == seed.model and cfg.data.test == seed.data.test and cfg.data.val == seed.data.val
    for check in CHECKS[name]:
        check(cfg)


def data_override(cfg, data_root):
    """The text of a child config's ``data`` that points the recipe's training set at ``data_root``."""
    roots = dict(classes=SHAPES_CLASSES, ann_file=data_root + '/annotations/instances_train.json',
                 img_prefix=data_root + '/train/')
    train = dict(dataset=roots) if cfg.data.train.type == 'MultiImageMixDataset' else roots
    return f'data = dict(samples_per_gpu=2, workers_per_gpu=0, train={train!r})\n'


@pytest.mark.parametrize('name', RECIPES)
def test_recipe_pipeline_gives_a_batch(name, shapes_data, tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = {osp.join(RECIPE_DIR, name)!r}\n' + data_override(recipe(name), shapes_data))
    cfg = Config.fromfile(str(child))
    dataset = build_dataset(cfg.data.train)
    assert dataset.CLASSES == SHAPES_CLASSES and len(dataset) == 8
    np.random.seed(0)
    batch = next(iter(build_dataloader(dataset, 2, 0, dist=False, shuffle=True, seed=0)))
    img = batch['img'].data[0]
    metas = batch['img_metas'].data[0]
    assert img.dtype == torch.float32 and img.shape[:2] == (2, 3)
    assert img.shape[2] % 32 == 0 and img.shape[3] % 32 == 0
    if 'mosaic' in name:
        assert tuple(img.shape[2:]) == (800, 800)
    else:  # the seed's 1333 x 800 resize (keep_ratio) after the recipe's augmentation
        assert all(max(m['img_shape'][:2]) <= 1333 and min(m['img_shape'][:2]) <= 800 for m in metas)
        assert any(max(m['img_shape'][:2]) == 1333 or min(m['img_shape'][:2]) == 800 for m in metas)
    assert abs(img.mean().item()) < 3  # normalised
    for boxes, labels, meta in zip(batch['gt_bboxes'].data[0], batch['gt_labels'].data[0], metas):
        h, w = meta['img_shape'][:2]
        assert boxes.shape[1] == 4 and len(boxes) == len(labels)
        assert ((labels >= 0) & (labels < 3)).all()
        if len(boxes):
            assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
            assert (boxes[:, 2] <= w + 1e-3).all() and (boxes[:, 3] <= h + 1e-3).all()
            assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert sum(len(b) for b in batch['gt_bboxes'].data[0]) > 0


def plain(x):
    """ConfigDicts and lists of them as plain Python (their repr is then valid config text)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(plain(v) for v in x)
    return x


def shrink(x, big, small):
    """``x`` with every ``big`` (h, w) scale, and RandomAffine's matching negative border, made ``small``."""
    if isinstance(x, dict):
        return {k: shrink(v, big, small) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        x = type(x)(shrink(v, big, small) for v in x)
        if tuple(x) == tuple(big):
            return type(x)(small)
        if tuple(x) == (-big[0] // 2, -big[1] // 2):
            return type(x)((-small[0] // 2, -small[1] // 2))
    return x


def test_mosaic_ema_cosine_recipe_trains_an_epoch(shapes_data, tmp_path):
    name = 'vfnet_r50_fpn_mosaic_ema_cosine_1x_coco.py'
    cfg = recipe(name)
    # the recipe's training pipeline as it is, at 128 x 128 instead of 800 x 800
    pipeline = shrink(plain(cfg.data.train.pipeline), (800, 800), (128, 128))
    assert types(pipeline) == types(cfg.data.train.pipeline) and pipeline[0]['img_scale'] == (128, 128)
    root = shapes_data + '/'
    child = tmp_path / 'mosaic_ema_shapes.py'
    child.write_text(textwrap.dedent(f'''
        _base_ = {osp.join(RECIPE_DIR, name)!r}
        classes = {SHAPES_CLASSES!r}
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
            bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1,
                           norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))
        img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(160, 128), flip=False,
                 transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                             dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                             dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])])]
        data = dict(
            samples_per_gpu=2, workers_per_gpu=0,
            train=dict(dataset=dict(classes=classes, ann_file={root!r} + 'annotations/instances_train.json',
                                    img_prefix={root!r} + 'train/'),
                       pipeline={pipeline!r}),
            val=dict(classes=classes, ann_file={root!r} + 'annotations/instances_val.json',
                     img_prefix={root!r} + 'val/', pipeline=test_pipeline),
            test=dict(classes=classes, ann_file={root!r} + 'annotations/instances_val.json',
                      img_prefix={root!r} + 'val/', pipeline=test_pipeline))
        lr_config = dict(warmup_iters=2)
        runner = dict(max_epochs=1)
        log_config = dict(interval=1)
    '''))
    work = tmp_path / 'work'
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(child), '--work-dir', str(work),
                          '--seed', '0'], cwd=str(tmp_path), env=run_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-6000:]
    assert 'bbox_mAP' in out.stdout, out.stdout[-3000:]  # the epoch was evaluated
    ckpt = torch.load(str(work / 'epoch_1.pth'), map_location='cpu', weights_only=False)
    ema = ckpt['hook_states']['ExpMomentumEMAHook']
    # at the end of the epoch the EMA weights are in the model (so in state_dict) and the training weights
    # are the hook's copy: the two differ after 4 updates
    assert ema['swapped'] is True
    name_ = 'bbox_head.vfnet_cls.weight'
    assert not torch.equal(ckpt['state_dict'][name_], ema['shadow'][name_])
    # the cosine schedule per iteration after the 2-iteration warm-up: the lr falls at every step
    lrs = [float(line.split('lr: ')[1].split(',')[0]) for line in out.stdout.splitlines()
           if 'Epoch [1]' in line and 'lr: ' in line]
    assert len(lrs) == 4 and lrs[2] > lrs[3], lrs
