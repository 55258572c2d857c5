import os
import subprocess
import sys
import textwrap

import pytest

# RSS after allocating, touching and freeing a 256 MiB block
CODE = textwrap.dedent('''
    import sys
    import numpy as np
    from mmdet.utils.host import retain_freed_memory
    def rss_mb():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096 / 2 ** 20
    on = retain_freed_memory() if sys.argv[1] == 'retain' else False
    base = rss_mb()
    a = np.ones(2 ** 25)  # 256 MiB
    del a
    print(on, round(rss_mb() - base))
''')


def run(mode, **env):
    out = subprocess.run([sys.executable, '-c', CODE, mode], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    on, kept = out.stdout.split()
    return on == 'True', int(kept)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc mallopt')
def test_retain_freed_memory_keeps_large_blocks_for_reuse():
    on, kept = run('plain')
    assert not on and kept < 50  # glibc's default: a large block goes back to the OS on free
    on, kept = run('retain')
    assert on and kept >= 250
    on, kept = run('retain', MMDET_RETAIN_FREED_MEMORY='0')
    assert not on and kept < 50


def test_building_a_detector_turns_it_on():
    from unittest import mock

    from mmdet.models import build_detector
    from mmdet.utils import Config
    cfg = Config.fromfile('configs/vfnet/vfnet_r50_fpn_1x_coco.py')
    cfg.model.pretrained = None
    with mock.patch('mmdet.models.detectors.base.retain_freed_memory') as m:
        build_detector(cfg.model)
    assert m.call_count == 1


def test_building_a_pipeline_turns_it_on():
    from unittest import mock

    from mmdet.datasets.pipelines import Compose
    with mock.patch('mmdet.datasets.pipelines.compose.retain_freed_memory') as m:
        Compose([dict(type='LoadImageFromFile'), dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1])])
    assert m.call_count == 1
