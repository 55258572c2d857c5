import argparse
import glob
import os.path as osp

import pytest

from mmdet.utils import Config, ConfigError, DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write(path, text):
    path.write_text(text)
    return str(path)


def test_base_merge_delete_and_lists(tmp_path):
    write(tmp_path / 'a.py', "model = dict(type='A', x=1, sub=dict(p=1, q=2))\nlst = [1, 2]\n")
    write(tmp_path / 'b.py', "opt = dict(type='SGD', lr=0.1, momentum=0.9)\n")
    child = write(tmp_path / 'c.py', "_base_ = ['./a.py', './b.py']\n"
                                     "model = dict(x=2, sub=dict(q=3))\n"
                                     "opt = dict(_delete_=True, type='Adam', lr=1e-3)\n")
    cfg = Config.fromfile(child)
    assert cfg.model.to_dict() == dict(type='A', x=2, sub=dict(p=1, q=3))
    assert cfg.opt.to_dict() == dict(type='Adam', lr=1e-3)
    assert cfg.lst == [1, 2]
    assert '_base_' not in cfg


def test_missing_base_names_file(tmp_path):
    child = write(tmp_path / 'c.py', "_base_ = './nope.py'\n")
    with pytest.raises(ConfigError, match='nope.py'):
        Config.fromfile(child)


def test_duplicate_base_keys(tmp_path):
    write(tmp_path / 'a.py', 'x = 1\n')
    write(tmp_path / 'b.py', 'x = 2\n')
    with pytest.raises(ConfigError, match=r"\['x'\]"):
        Config.fromfile(write(tmp_path / 'c.py', "_base_ = ['a.py', 'b.py']\n"))


def test_cfg_options_parsing_and_merge():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', 'a.b=1', 'c=[1,2]', 'd=(3,4)', 'e=True', 'f=None',
                              'g=abc', 'h=1,2', 'i.0=5', 'j=[(1,2),(3,4)]'])
    opts = args.cfg_options
    assert opts['a.b'] == 1 and opts['c'] == [1, 2] and opts['d'] == (3, 4)
    assert opts['e'] is True and opts['f'] is None and opts['g'] == 'abc' and opts['h'] == [1, 2]
    assert opts['j'] == [(1, 2), (3, 4)]
    cfg = Config(dict(a=dict(b=0, keep=1), i=[0, 1]))
    cfg.merge_from_dict(opts)
    assert cfg.a.b == 1 and cfg.a.keep == 1 and cfg.i == [5, 1] and cfg.j == [(1, 2), (3, 4)]


def test_pretty_text_round_trip(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    out = tmp_path / 'dumped.py'
    cfg.dump(str(out))
    again = Config.fromfile(str(out))
    assert again.to_dict() == cfg.to_dict()


def test_seed_config_values():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    assert cfg.model.type == 'VFNet' and cfg.model.bbox_head.loss_cls.alpha == 0.75
    assert cfg.optimizer.to_dict() == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001,
                                           paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
    assert cfg.lr_config.warmup_ratio == 0.1 and cfg.lr_config.step == [8, 11]
    assert cfg.data.train.ann_file == 'data/coco/annotations/instances_train2017.json'
    assert cfg.swa_training is True and cfg.swa_optimizer.to_dict() == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001, paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)))
def test_every_config_loads(path):
    cfg = Config.fromfile(path)
    if '_base_' not in path:
        assert 'model' in cfg


def test_misspelled_top_level_key_is_flagged(tmp_path):
    from mmdet.utils.cli import load_config
    path = write(tmp_path / 'c.py', "optimzer = dict(lr=0.1)\nimg_norm_cfg = dict()\nmodel = dict()\n")
    with pytest.warns(UserWarning, match="'optimzer'.*'optimizer'"):
        load_config(path)
