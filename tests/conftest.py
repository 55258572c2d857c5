import os
import os.path as osp
import sys
import textwrap

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

# Under pytest-xdist (`-n 2`, the README's command) each worker computes on one thread: two workers with
# OpenMP's default of one thread per core would spin against each other. Set before torch is imported by
# any test module, so the subprocesses the tests start (which copy os.environ) inherit it too; an explicit
# OMP_NUM_THREADS is kept.
if os.environ.get('PYTEST_XDIST_WORKER') and not os.environ.get('OMP_NUM_THREADS'):
    os.environ['OMP_NUM_THREADS'] = '1'


def pytest_configure(config):
    if os.environ.get('PYTEST_XDIST_WORKER') and 'torch' in sys.modules:
        sys.modules['torch'].set_num_threads(int(os.environ['OMP_NUM_THREADS']))


@pytest.fixture(scope='session')
def shapes_data(tmp_path_factory):
    """A small generated COCO-format dataset: 8 train, 4 val images."""
    from mmdet.datasets.synthetic import make_shapes_dataset
    root = tmp_path_factory.mktemp('shapes')
    make_shapes_dataset(str(root), num_train=8, num_val=4, seed=3,
                        size_range=((96, 128), (128, 160)), max_objects=3, min_obj=16)
    return str(root)


def write_user_config(path, data_root, epochs=2, extra=''):
    """A user's own 2.x config: inherits the seed VFNet config, ResNet-18, small data."""
    base = osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py')
    text = textwrap.dedent(f'''
        _base_ = {base!r}
        classes = ('ellipse', 'rectangle', 'triangle')
        model = dict(
            pretrained=None,
            backbone=dict(depth=18, frozen_stages=-1, norm_eval=False),
            neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
            bbox_head=dict(num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1,
                           norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
            test_cfg=dict(score_thr=0.0001))
        img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(160, 128), keep_ratio=True),
            dict(type='RandomFlip', flip_ratio=0.5),
            dict(type='Normalize', **img_norm_cfg),
            dict(type='Pad', size_divisor=32),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiScaleFlipAug', img_scale=(160, 128), flip=False,
                 transforms=[
                     dict(type='Resize', keep_ratio=True),
                     dict(type='RandomFlip'),
                     dict(type='Normalize', **img_norm_cfg),
                     dict(type='Pad', size_divisor=32),
                     dict(type='DefaultFormatBundle'),
                     dict(type='Collect', keys=['img']),
                 ])
        ]
        data_root = {data_root + '/'!r}
        data = dict(
            samples_per_gpu=2,
            workers_per_gpu=0,
            train=dict(classes=classes, ann_file=data_root + 'annotations/instances_train.json',
                       img_prefix=data_root + 'train/', pipeline=train_pipeline),
            val=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                     img_prefix=data_root + 'val/', pipeline=test_pipeline),
            test=dict(classes=classes, ann_file=data_root + 'annotations/instances_val.json',
                      img_prefix=data_root + 'val/', pipeline=test_pipeline))
        optimizer = dict(lr=0.005)
        lr_config = dict(warmup_iters=2)
        runner = dict(type='EpochBasedRunner', max_epochs={epochs})
        log_config = dict(interval=1)
        swa_training = False
    ''') + textwrap.dedent(extra)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture
def user_config(tmp_path, shapes_data):
    return write_user_config(tmp_path / 'my_vfnet_r18.py', shapes_data)


def run_env():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.setdefault('PYTHON', sys.executable)  # the launch scripts' interpreter: this one, venv activated or not
    return env
