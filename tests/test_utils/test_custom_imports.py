import sys
import textwrap
import types

import pytest
import torch.nn as nn

from mmdet.models.builder import BACKBONES, build_backbone
from mmdet.runner.hooks import HOOKS
from mmdet.utils import Config, InvalidArgumentError, build_from_cfg, import_modules_from_strings

USER_MODULE = '''
import torch.nn as nn
from mmdet.models.builder import BACKBONES


@BACKBONES.register_module()
class {name}(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return (self.conv(x),)
'''


def write_user_module(tmp_path, monkeypatch, module, cls):
    (tmp_path / f'{module}.py').write_text(USER_MODULE.format(name=cls))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_config_with_custom_imports_registers_the_users_backbone(tmp_path, monkeypatch):
    write_user_module(tmp_path, monkeypatch, 'user_backbones_a', 'UserNetA')
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['user_backbones_a'], allow_failed_imports=False)
        model = dict(backbone=dict(type='UserNetA', width=6))
    '''))
    assert 'UserNetA' not in BACKBONES.module_dict
    cfg = Config.fromfile(str(cfg_file))
    try:
        backbone = build_backbone(cfg.model.backbone)
        assert backbone.conv.out_channels == 6
    finally:
        BACKBONES.module_dict.pop('UserNetA', None)


def test_custom_imports_in_a_base_file_and_opt_out(tmp_path, monkeypatch):
    write_user_module(tmp_path, monkeypatch, 'user_backbones_b', 'UserNetB')
    (tmp_path / 'base.py').write_text("custom_imports = dict(imports='user_backbones_b')\n")
    (tmp_path / 'child.py').write_text("_base_ = './base.py'\nx = 1\n")
    Config.fromfile(str(tmp_path / 'child.py'), import_custom_modules=False)
    assert 'user_backbones_b' not in sys.modules
    try:
        Config.fromfile(str(tmp_path / 'child.py'))
        assert 'UserNetB' in BACKBONES.module_dict
    finally:
        BACKBONES.module_dict.pop('UserNetB', None)


def test_failed_custom_imports_raise_naming_the_module_or_warn(tmp_path):
    (tmp_path / 'strict.py').write_text("custom_imports = dict(imports=['no_such_user_module_xyz'])\n")
    with pytest.raises(ImportError, match="no_such_user_module_xyz.*PYTHONPATH"):
        Config.fromfile(str(tmp_path / 'strict.py'))
    (tmp_path / 'lenient.py').write_text(
        "custom_imports = dict(imports=['no_such_user_module_xyz', 'json'], allow_failed_imports=True)\n")
    with pytest.warns(UserWarning, match='no_such_user_module_xyz failed to import and is ignored'):
        Config.fromfile(str(tmp_path / 'lenient.py'))
    (tmp_path / 'bad.py').write_text("custom_imports = dict(modules=['json'])\n")
    with pytest.raises(TypeError, match='bad.py: custom_imports must be dict'):
        Config.fromfile(str(tmp_path / 'bad.py'))
    with pytest.raises(TypeError):
        import_modules_from_strings([1, 2])
    assert import_modules_from_strings(['json', 'os'])[0].__name__ == 'json'


class Head(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.num_classes = num_classes


def fake_runner(num_classes, classes):
    model = nn.Sequential()
    model.bbox_head = Head(num_classes)
    return types.SimpleNamespace(model=model, data_loader=types.SimpleNamespace(dataset=types.SimpleNamespace(
        CLASSES=classes)))


def test_num_class_check_hook():
    hook = build_from_cfg(dict(type='NumClassCheckHook'), HOOKS)
    hook.before_train_epoch(fake_runner(2, ('cat', 'dog')))
    hook.before_val_epoch(fake_runner(2, ('cat', 'dog')))
    with pytest.raises(AssertionError, match=r'num_classes \(3\) of Head \(bbox_head\).*2 CLASSES'):
        hook.before_train_epoch(fake_runner(3, ('cat', 'dog')))
    with pytest.raises(InvalidArgumentError, match="CLASSES = \\('cat',\\)"):
        hook.before_train_epoch(fake_runner(1, 'cat'))
    with pytest.warns(UserWarning, match='no CLASSES'):
        hook.before_train_epoch(fake_runner(1, None))
    assert issubclass(InvalidArgumentError, ValueError)
