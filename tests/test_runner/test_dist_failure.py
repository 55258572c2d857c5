import os.path as osp
import subprocess
import sys
import textwrap
import time

from tests.conftest import run_env

SCRIPT = textwrap.dedent('''
    import os, sys, torch
    sys.path.insert(0, os.environ['ROOT'])
    from mmdet.utils import init_dist, reduce_mean
    init_dist('pytorch', timeout_s=20)
    if int(os.environ['RANK']) == 1:
        os._exit(3)  # this rank dies
    reduce_mean(torch.ones(1))  # rank 0 waits on a collective that will never complete
    print('unreachable')
''')


def test_a_dead_rank_does_not_hang_the_others(tmp_path):
    from tests.conftest import ROOT
    script = tmp_path / 'die.py'
    script.write_text(SCRIPT)
    env = run_env()
    env['ROOT'] = ROOT
    t = time.time()
    out = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
                          '29637', str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'unreachable' not in out.stdout
    assert time.time() - t < 90
    assert 'exitcode' in out.stderr or 'Error' in out.stderr
    assert osp.isfile(script)
