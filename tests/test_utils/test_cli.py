"""The tools' error handling: one line naming the culprit, the raising place for generic errors, and
``MMDET_DEBUG=1`` for the whole traceback."""
import pytest

from mmdet.utils import ConfigError
from mmdet.utils.cli import main_guard


def _users_head_loss(preds):
    return preds['cls']  # a bug in "the user's code": a KeyError from a dict lookup


@main_guard
def _main_with_generic_error():
    return _users_head_loss({})


@main_guard
def _main_with_config_error():
    raise ConfigError('my_config.py: optimizer.lr must be a number')


def test_generic_error_names_where_it_was_raised(capsys, monkeypatch):
    monkeypatch.delenv('MMDET_DEBUG', raising=False)
    with pytest.raises(SystemExit) as e:
        _main_with_generic_error()
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: KeyError: cls (raised at ")
    assert 'test_cli.py:10 in _users_head_loss' in err and 'MMDET_DEBUG=1' in err


def test_own_error_is_one_line_without_location(capsys, monkeypatch):
    monkeypatch.delenv('MMDET_DEBUG', raising=False)
    with pytest.raises(SystemExit):
        _main_with_config_error()
    assert capsys.readouterr().err == 'error: ConfigError: my_config.py: optimizer.lr must be a number\n'


@pytest.mark.parametrize('value', ['1', 'yes'])
def test_debug_keeps_the_traceback(monkeypatch, value):
    monkeypatch.setenv('MMDET_DEBUG', value)
    with pytest.raises(KeyError, match='cls'):
        _main_with_generic_error()
    with pytest.raises(ConfigError):
        _main_with_config_error()


def test_debug_zero_is_off(capsys, monkeypatch):
    monkeypatch.setenv('MMDET_DEBUG', '0')
    with pytest.raises(SystemExit):
        _main_with_generic_error()
    assert 'raised at' in capsys.readouterr().err
