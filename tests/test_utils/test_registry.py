import pytest

from mmdet.models import build_detector, build_loss
from mmdet.utils import BuildError, Registry, build_from_cfg


def test_unknown_type_names_it_and_close_matches():
    with pytest.raises(BuildError) as e:
        build_detector(dict(type='VFNett', backbone=dict(type='ResNet', depth=18)))
    assert "'VFNett'" in str(e.value) and "'VFNet'" in str(e.value) and 'detector' in str(e.value)


def test_unknown_key_names_component_and_key():
    with pytest.raises(BuildError) as e:
        build_loss(dict(type='VarifocalLoss', alpah=0.5))
    msg = str(e.value)
    assert 'VarifocalLoss' in msg and "'alpah'" in msg and "'alpha'" in msg


def test_registry_register_and_build():
    reg = Registry('thing')

    @reg.register_module()
    class Thing:
        def __init__(self, a=1):
            self.a = a

    assert build_from_cfg(dict(type='Thing', a=3), reg).a == 3
    assert build_from_cfg(dict(type=Thing), reg).a == 1
    with pytest.raises(KeyError):
        reg.register_module(module=type('Thing', (), {}))
    with pytest.raises(BuildError, match="no 'type'"):
        build_from_cfg(dict(a=1), reg)
