"""A checkpoint write that fails (a full disk, ...) leaves no temporary file and the previous checkpoints usable."""
import errno
import io
import os
import shutil

import pytest
import torch
import torch.nn as nn

from mmdet.runner import EpochBasedRunner
from mmdet.runner import checkpoint as ckpt_mod
from mmdet.runner.checkpoint import link_latest, load_checkpoint, save_checkpoint

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _leftovers(d):
    return [n for n in os.listdir(d) if '.tmp' in n]


def _loads_epoch(path, epoch, model):
    other = nn.Linear(4, 3)
    meta = load_checkpoint(other, str(path), strict=True)['meta']
    assert meta['epoch'] == epoch and torch.equal(other.weight, model.weight)


def _full_disk_torch_save(obj, f, *args, **kwargs):
    """torch.save on a disk that fills up after a few bytes."""
    if isinstance(f, (str, os.PathLike)):
        f = open(f, 'wb')
    f.write(b'PK\x03\x04 partial')
    raise ENOSPC


class _FullDiskFile(io.FileIO):
    """A file on a disk with room for 100 bytes: the real torch.save writes into it until it is full."""

    def write(self, b):
        room = 100 - self.tell()
        if len(b) > room:
            super().write(bytes(b)[:max(room, 0)])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(b)


@pytest.mark.parametrize('where', ['torch.save', 'file write'])
def test_full_disk_while_saving_removes_the_partial_file(tmp_path, monkeypatch, where):
    model = nn.Linear(4, 3)
    runner = EpochBasedRunner(model, work_dir=str(tmp_path), max_epochs=3)
    assert runner.save_checkpoint(str(tmp_path)).endswith('epoch_1.pth')
    runner._epoch = 1
    if where == 'torch.save':
        monkeypatch.setattr(torch, 'save', _full_disk_torch_save)
    else:
        monkeypatch.setattr(ckpt_mod, 'open', lambda path, mode='r': _FullDiskFile(path, 'wb'), raising=False)
    with pytest.raises(OSError) as e:
        runner.save_checkpoint(str(tmp_path))
    assert e.value.errno == errno.ENOSPC
    msg = str(e.value)
    assert 'cannot write checkpoint' in msg and 'epoch_2.pth' in msg and 'No space left on device' in msg
    assert 'no partial file is left' in msg
    monkeypatch.undo()
    assert _leftovers(tmp_path) == [] and not (tmp_path / 'epoch_2.pth').exists()
    _loads_epoch(tmp_path / 'epoch_1.pth', 1, model)
    _loads_epoch(tmp_path / 'latest.pth', 1, model)


def test_failure_while_updating_latest_leaves_no_temp_file(tmp_path, monkeypatch):
    model = nn.Linear(4, 3)
    for e in (1, 2):
        save_checkpoint(model, str(tmp_path / f'epoch_{e}.pth'), meta=dict(epoch=e))
    link_latest(str(tmp_path), str(tmp_path / 'epoch_1.pth'))

    # no symlinks here, and the disk fills up half way through the copy
    def no_symlink(*args, **kwargs):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    def full_disk_copy(src, dst, *args, **kwargs):
        with open(dst, 'wb') as f:
            f.write(b'PK\x03\x04 partial')
        raise ENOSPC
    monkeypatch.setattr(os, 'symlink', no_symlink)
    monkeypatch.setattr(shutil, 'copyfile', full_disk_copy)
    with pytest.raises(OSError, match='latest.pth.*No space left on device.*no partial file is left') as e:
        link_latest(str(tmp_path), str(tmp_path / 'epoch_2.pth'))
    assert e.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert _leftovers(tmp_path) == []
    _loads_epoch(tmp_path / 'latest.pth', 1, model)

    # the rename of a finished link fails: the link made beside latest.pth goes too
    def failing_replace(src, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    monkeypatch.setattr(os, 'replace', failing_replace)
    with pytest.raises(OSError, match='cannot point .*latest.pth at .*epoch_2.pth'):
        link_latest(str(tmp_path), str(tmp_path / 'epoch_2.pth'))
    monkeypatch.undo()
    assert _leftovers(tmp_path) == []
    _loads_epoch(tmp_path / 'latest.pth', 1, model)

    # anything else (an interrupt) also cleans up, and goes through unchanged
    interrupt = KeyboardInterrupt()

    def interrupted(*args, **kwargs):
        raise interrupt
    monkeypatch.setattr(os, 'replace', interrupted)
    with pytest.raises(KeyboardInterrupt) as e:
        link_latest(str(tmp_path), str(tmp_path / 'epoch_2.pth'))
    assert e.value is interrupt
    monkeypatch.undo()
    assert _leftovers(tmp_path) == []
    link_latest(str(tmp_path), str(tmp_path / 'epoch_2.pth'))
    _loads_epoch(tmp_path / 'latest.pth', 2, model)


def test_full_disk_during_a_run_stops_it_clearly(tmp_path, monkeypatch):
    from mmdet.runner.hooks import CheckpointHook
    from mmdet.utils.logger import get_logger
    logger = get_logger('mmdet.test_checkpoint_failures', log_file=str(tmp_path / 'run.log'))
    model = nn.Linear(4, 3)
    model._parse_losses = lambda losses: (losses['loss'], {'loss': losses['loss'].item()})
    model.forward = lambda img, img_metas: dict(loss=nn.Linear.forward(model, img).sum())
    runner = EpochBasedRunner(model, work_dir=str(tmp_path), logger=logger, max_epochs=3)
    runner.register_hook(CheckpointHook(interval=1))
    real_save = torch.save
    monkeypatch.setattr(torch, 'save', lambda obj, f, *a, **k: real_save(obj, f, *a, **k) if runner.epoch == 0
                        else _full_disk_torch_save(obj, f))
    try:
        with pytest.raises(OSError, match='cannot write checkpoint .*epoch_2.pth: No space left on device'):
            runner.run([[dict(img=torch.randn(2, 4), img_metas=[{}, {}])] * 2], [('train', 1)])
    finally:
        for h in list(logger.handlers):
            h.close()
            logger.removeHandler(h)
    monkeypatch.undo()
    assert 'training stopped by OSError at epoch 2, iter 2/2' in (tmp_path / 'run.log').read_text()
    assert _leftovers(tmp_path) == []
    _loads_epoch(tmp_path / 'latest.pth', 1, model)
