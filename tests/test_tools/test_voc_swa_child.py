"""A VOC child of the seed config (issue 18): ``evaluation = dict(metric='mAP')`` over the seed VFNet config
trains through the main stage and the SWA stage; ``save_best='auto'`` picks the dataset's first metric; the
SWA stage starts from whatever best checkpoint was saved, or says where it looked."""
import logging
import os
import os.path as osp
import types

import pytest
from torch.utils.data import DataLoader

from mmdet.apis.train import _swa_best_key, swa_start_checkpoint
from mmdet.core.evaluation import EvalHook
from mmdet.utils import Config
from tests.conftest import ROOT
from tests.test_tools.test_end_to_end import py

SEED = osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py')


@pytest.fixture(scope='module')
def tiny_voc(tmp_path_factory):
    """Two train images and one test image, 64-80 px, as a VOC2007 devkit."""
    from mmdet.datasets.synthetic import coco_to_voc, make_shapes_dataset
    coco = tmp_path_factory.mktemp('tiny_shapes')
    make_shapes_dataset(str(coco), num_train=2, num_val=1, seed=11, size_range=((64, 80), (64, 80)),
                        max_objects=2, min_obj=16)
    return coco_to_voc(str(coco), str(tmp_path_factory.mktemp('tiny_voc') / 'VOCdevkit'))


def voc_child(path, voc_root, extra=''):
    """A user's VOC config over the shipped seed config (which carries the SWA stage): the seed's model
    shrunk, its data replaced by VOC, and the evaluation a VOC user writes."""
    from mmdet.datasets.synthetic import SHAPE_CLASSES
    voc = voc_root + '/'
    path.write_text(f'''
_base_ = {SEED!r}
classes = {SHAPE_CLASSES!r}
model = dict(pretrained=None, backbone=dict(depth=18, frozen_stages=-1),
             neck=dict(in_channels=[64, 128, 256, 512], out_channels=16),
             bbox_head=dict(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1,
                            norm_cfg=dict(type='GN', num_groups=4, requires_grad=True)),
             test_cfg=dict(score_thr=0.0001))
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='Resize', img_scale=(64, 64), keep_ratio=True), dict(type='RandomFlip', flip_ratio=0.5),
                  dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                  dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
test_pipeline = [dict(type='LoadImageFromFile'),
                 dict(type='MultiScaleFlipAug', img_scale=(64, 64), flip=False,
                      transforms=[dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
                                  dict(type='Normalize', **img_norm_cfg), dict(type='Pad', size_divisor=32),
                                  dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])])]
voc = {voc!r}
data = dict(samples_per_gpu=2, workers_per_gpu=0,
            train=dict(type='VOCDataset', classes=classes, ann_file=voc + 'ImageSets/Main/trainval.txt',
                       img_prefix=voc, pipeline=train_pipeline),
            val=dict(type='VOCDataset', classes=classes, ann_file=voc + 'ImageSets/Main/test.txt',
                     img_prefix=voc, pipeline=test_pipeline),
            test=dict(type='VOCDataset', classes=classes, ann_file=voc + 'ImageSets/Main/test.txt',
                      img_prefix=voc, pipeline=test_pipeline))
evaluation = dict(interval=1, metric='mAP')
optimizer = dict(lr=0.001)
lr_config = dict(warmup_iters=1)
runner = dict(type='EpochBasedRunner', max_epochs=1)
swa_runner = dict(type='EpochBasedRunner', max_epochs=1)
swa_optimizer = dict(lr=0.001)
swa_lr_config = dict(cyclic_times=1)
checkpoint_config = dict(interval=1)
log_config = dict(interval=1)
''' + extra)
    return str(path)


def test_seed_configs_set_no_save_best():
    """The seed configs evaluate as the original's do (no save_best), so another dataset's metric merges."""
    for name in ('vfnet/vfnet_r50_fpn_1x_coco.py', 'vfnet/vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        assert cfg.evaluation.to_dict() == dict(interval=1, metric='bbox'), name
        assert cfg.swa_load_from == 'best_bbox_mAP.pth' and cfg.only_swa_training is False


def test_voc_child_of_the_seed_config_trains_with_swa_and_evaluates_map(tiny_voc, tmp_path):
    cfg = voc_child(tmp_path / 'my_vfnet_voc.py', tiny_voc)
    merged = Config.fromfile(cfg)
    assert merged.evaluation.to_dict() == dict(interval=1, metric='mAP') and merged.swa_training is True
    work = tmp_path / 'work'
    out = py('tools/train.py', cfg, '--work-dir', work, '--seed', '0')
    log = out.stdout + out.stderr
    assert 'KeyError' not in log
    # the main stage kept its best model by VOC's metric, and the SWA stage started from it
    assert (work / 'best_mAP.pth').is_file() and not (work / 'best_bbox_mAP.pth').exists()
    assert "swa_load_from='best_bbox_mAP.pth' is not in the work dir" in log and 'best_mAP.pth' in log
    assert (work / 'epoch_1.pth').is_file() and (work / 'swa_epoch_1.pth').is_file()
    assert (work / 'swa_model_1.pth').is_file() and 'swa_mAP' in log
    res = py('tools/test.py', cfg, work / 'swa_model_1.pth', '--eval', 'mAP')
    assert "{'mAP': " in res.stdout


LOADER = DataLoader([0])  # EvalHook takes a DataLoader (TypeError otherwise, as 2.x); these tests never iterate it

def fake_runner(work_dir, epoch=0, meta=None):
    saved = []

    def save_checkpoint(out_dir, filename_tmpl, **kw):
        saved.append(filename_tmpl)
        open(osp.join(out_dir, filename_tmpl), 'wb').write(f'epoch {epoch + 1}'.encode())
    return types.SimpleNamespace(work_dir=str(work_dir), epoch=epoch, iter=0, meta=dict(meta or {}), rank=0,
                                 logger=logging.getLogger('test_voc_swa_child'), save_checkpoint=save_checkpoint,
                                 saved=saved)


def epoch_file(work_dir, epoch):
    (work_dir / f'epoch_{epoch}.pth').write_bytes(f'epoch {epoch}'.encode())


def test_save_best_auto_takes_the_first_metric_of_the_first_evaluation(tmp_path):
    voc = EvalHook(LOADER, save_best='auto', metric='mAP')
    meta, copies = {}, []
    for epoch, score in ((0, 0.3), (1, 0.2), (2, 0.5)):
        runner = fake_runner(tmp_path, epoch, meta)
        voc._save_best(runner, {'mAP': score})
        meta = runner.meta
        copies.append((tmp_path / 'best_mAP.pth').read_bytes())
    assert copies == [b'epoch 1', b'epoch 1', b'epoch 3']  # epoch 2 (0.2) did not replace epoch 1
    assert voc.key_indicator == 'mAP' and voc.best_score == 0.5
    assert voc.best_ckpt == str(tmp_path / 'best_mAP.pth')
    assert meta['hook_msgs'] == dict(best_score=0.5, best_key='mAP', best_epoch=3, best_ckpt=voc.best_ckpt)
    # COCO: bbox_mAP, the first numeric result (not the copypaste string)
    coco_dir = tmp_path / 'coco'
    coco_dir.mkdir()
    epoch_file(coco_dir, 1)
    coco = EvalHook(LOADER, save_best='auto')
    coco._save_best(fake_runner(coco_dir), {'bbox_mAP_copypaste': '0.1 0.2', 'bbox_mAP': 0.1, 'bbox_mAP_50': 0.2})
    assert coco.key_indicator == 'bbox_mAP' and (coco_dir / 'best_bbox_mAP.pth').is_file()
    # the key stays the one of the first evaluation
    assert coco._resolve_key({'bbox_mAP_50': 0.3, 'bbox_mAP': 0.2}) == 'bbox_mAP'


def test_save_best_none_keeps_no_best_and_a_wrong_key_says_what_to_use(tmp_path):
    hook = EvalHook(LOADER, save_best=None)
    assert not hook.save_best
    with pytest.raises(KeyError, match=r"save_best='bbox_mAP' is not among the results \['mAP'\].*'auto'"):
        EvalHook(LOADER, save_best='bbox_mAP', metric='mAP')._save_best(fake_runner(tmp_path), {'mAP': 0.1})
    with pytest.raises(TypeError, match='save_best'):
        EvalHook(LOADER, save_best=True)


def test_resumed_run_keeps_the_best_score_so_far(tmp_path):
    epoch_file(tmp_path, 4)
    hook = EvalHook(LOADER, save_best='auto')
    meta = dict(hook_msgs=dict(best_key='mAP', best_score=0.5, best_epoch=2, best_ckpt=str(tmp_path / 'best_mAP.pth')))
    hook._save_best(fake_runner(tmp_path, 3, meta), {'mAP': 0.4})
    assert not (tmp_path / 'best_mAP.pth').exists() and hook.best_score == 0.5


def test_main_stage_save_best_for_swa_load_from():
    assert _swa_best_key('best_bbox_mAP.pth') == 'auto'  # the original's default: any dataset's first metric
    assert _swa_best_key('auto') == 'auto' and _swa_best_key(None) == 'auto'
    assert _swa_best_key('best_bbox_mAP_50.pth') == 'bbox_mAP_50'
    assert _swa_best_key('/ckpts/epoch_3.pth') is None and _swa_best_key('epoch_3.pth') is None


def swa_cfg(work, name):
    return Config(dict(work_dir=str(work), swa_load_from=name))


def test_swa_starts_from_the_best_checkpoint_saved(tmp_path):
    logger = logging.getLogger('test_voc_swa_child')
    (tmp_path / 'latest.pth').write_bytes(b'')
    (tmp_path / 'best_mAP.pth').write_bytes(b'')
    best = str(tmp_path / 'best_mAP.pth')
    for name in ('best_bbox_mAP.pth', 'auto', None):
        assert swa_start_checkpoint(swa_cfg(tmp_path, name), logger) == best
    assert swa_start_checkpoint(Config(dict(work_dir=str(tmp_path))), logger) == best
    # COCO as before: the file of that name
    (tmp_path / 'best_bbox_mAP.pth').write_bytes(b'')
    assert swa_start_checkpoint(swa_cfg(tmp_path, 'best_bbox_mAP.pth'), logger) == str(tmp_path / 'best_bbox_mAP.pth')
    # what this run's evaluation recorded comes first for the default name
    assert swa_start_checkpoint(swa_cfg(tmp_path, 'best_bbox_mAP.pth'), logger, recorded=best) == best
    # a path is a path
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    assert swa_start_checkpoint(swa_cfg(tmp_path, 'epoch_1.pth'), logger) == str(tmp_path / 'epoch_1.pth')


def test_swa_without_any_checkpoint_names_the_work_dir_and_what_it_looked_for(tmp_path):
    work = tmp_path / 'empty_work'
    work.mkdir()
    with pytest.raises(FileNotFoundError) as e:
        swa_start_checkpoint(swa_cfg(work, 'best_bbox_mAP.pth'), logging.getLogger('test_voc_swa_child'))
    msg = str(e.value)
    assert f'work_dir {work}' in msg and "swa_load_from='best_bbox_mAP.pth'" in msg
    assert osp.join(str(work), 'best_bbox_mAP.pth') in msg and osp.join(str(work), 'best_*.pth') in msg
    assert osp.join(str(work), 'latest.pth') in msg
    assert not os.listdir(work)
