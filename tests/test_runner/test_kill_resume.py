"""SIGKILL in the middle of an epoch, then ``tools/train.py --auto-resume``: the run ends
with the weights of an uninterrupted one (seeded, deterministic, CPU)."""
import os
import signal
import subprocess
import sys
import textwrap

import torch

from tests.conftest import ROOT, run_env, write_user_config

# A user hook that SIGKILLs its own process after global iteration $SIGKILL_AT_ITER (1-based);
# without the variable it does nothing, so the uninterrupted and the resumed runs share the config.
KILLER = '''
    import os
    import signal

    from mmdet.runner import HOOKS, Hook


    @HOOKS.register_module()
    class SigkillAtIter(Hook):

        def __init__(self):
            self.at = int(os.environ.get('SIGKILL_AT_ITER', '0'))
            self.done = 0

        def after_train_iter(self, runner):
            self.done += 1
            if self.at and self.done == self.at:
                os.kill(os.getpid(), signal.SIGKILL)
'''

EXTRA = '''
    custom_imports = dict(imports=['sigkill_hook'], allow_failed_imports=False)
    custom_hooks = [dict(type='SigkillAtIter', priority='LOWEST')]
'''


def train(cfg, work, env, *extra):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', str(work),
                           '--seed', '0', '--deterministic', '--no-validate', *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_sigkill_mid_epoch_then_auto_resume_equals_uninterrupted(tmp_path, shapes_data):
    (tmp_path / 'src').mkdir()
    (tmp_path / 'src' / 'sigkill_hook.py').write_text(textwrap.dedent(KILLER))
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data, epochs=2, extra=EXTRA)
    env = run_env()
    env['PYTHONPATH'] = str(tmp_path / 'src') + os.pathsep + env['PYTHONPATH']
    env.pop('SIGKILL_AT_ITER', None)

    full = train(cfg, tmp_path / 'full', env)
    assert full.returncode == 0, full.stderr[-3000:]

    work = tmp_path / 'killed'
    killed = train(cfg, work, dict(env, SIGKILL_AT_ITER='6'))  # 4 iterations an epoch: epoch 2, iteration 2
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr[-3000:])
    log = killed.stdout + killed.stderr
    assert 'Epoch [2][2/4]' in log and 'Epoch [2][3/4]' not in log
    assert (work / 'epoch_1.pth').is_file() and not (work / 'epoch_2.pth').exists()
    assert os.path.realpath(work / 'latest.pth') == os.path.realpath(work / 'epoch_1.pth')

    resumed = train(cfg, work, env, '--auto-resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert 'resumed epoch 1' in log and 'Epoch [1][' not in log and 'Epoch [2][4/4]' in log

    a = torch.load(tmp_path / 'full' / 'epoch_2.pth', weights_only=False)
    b = torch.load(work / 'epoch_2.pth', weights_only=False)
    assert a['meta']['epoch'] == b['meta']['epoch'] == 2 and a['meta']['iter'] == b['meta']['iter'] == 8
    assert a['state_dict'].keys() == b['state_dict'].keys()
    worst = max((a['state_dict'][k].float() - b['state_dict'][k].float()).abs().max().item() for k in a['state_dict'])
    assert worst <= 1e-5, worst
