"""Multi-node and SLURM launch on one machine: the same training as one node with
two processes (same seed, deterministic), down to the checkpoint."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT, run_env, write_user_config

TRAIN_ARGS = ['--no-validate', '--seed', '0', '--deterministic']


def _wait(procs, timeout=600):
    outs = [p.communicate(timeout=timeout) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, f'{p.args} failed:\n{out[-2000:]}\n{err[-3000:]}'


def _weights(work):
    return torch.load(osp.join(work, 'epoch_1.pth'), map_location='cpu', weights_only=False)['state_dict']


def _assert_same(a, b):
    assert a.keys() == b.keys()
    worst = max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())
    assert worst <= 1e-6, worst


@pytest.fixture(scope='module')
def one_node(tmp_path_factory, shapes_data):
    root = tmp_path_factory.mktemp('launch')
    cfg = write_user_config(root / 'cfg.py', shapes_data, epochs=1)
    env = dict(run_env(), PORT='29631')
    p = subprocess.Popen(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '2', '--work-dir',
                          str(root / 'one_node'), *TRAIN_ARGS], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    _wait([p])
    return cfg, _weights(root / 'one_node')


def test_two_nodes_equal_one_node_with_two_processes(one_node, tmp_path):
    cfg, reference = one_node
    procs = []
    for node in (0, 1):
        env = dict(run_env(), NNODES='2', NODE_RANK=str(node), MASTER_ADDR='127.0.0.1', PORT='29633')
        procs.append(subprocess.Popen(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(cfg), '1',
                                       '--work-dir', str(tmp_path / 'two_nodes'), *TRAIN_ARGS], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    _wait(procs)
    _assert_same(_weights(tmp_path / 'two_nodes'), reference)


def test_slurm_launcher_from_slurm_variables(one_node, tmp_path):
    """What srun would set for 2 tasks on one node; MASTER_ADDR/PORT as slurm_train.sh users export them."""
    cfg, reference = one_node
    procs = []
    for rank in (0, 1):
        env = dict(run_env(), SLURM_PROCID=str(rank), SLURM_LOCALID=str(rank), SLURM_NTASKS='2',
                   SLURM_NODELIST='localhost', MASTER_ADDR='127.0.0.1', MASTER_PORT='29635')
        for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
            env.pop(k, None)
        procs.append(subprocess.Popen([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(cfg), '--work-dir',
                                       str(tmp_path / 'slurm'), '--launcher', 'slurm', *TRAIN_ARGS], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    _wait(procs)
    _assert_same(_weights(tmp_path / 'slurm'), reference)


def test_slurm_host_list_parsing(monkeypatch):
    from mmdet.utils.dist import _first_slurm_host
    monkeypatch.setenv('PATH', '/nonexistent')  # no scontrol
    assert _first_slurm_host('gpu[03-05],gpu07') == 'gpu03'
    assert _first_slurm_host('node7') == 'node7'


def test_slurm_launcher_names_missing_variables(monkeypatch):
    from mmdet.utils import init_dist
    for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(RuntimeError, match='SLURM_PROCID'):
        init_dist('slurm')
