"""Decisions every rank must take alike, checked with real ``torchrun`` processes on gloo."""
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, run_env

SWA_START = textwrap.dedent('''
    import os, sys, time, torch
    sys.path.insert(0, os.environ['ROOT'])
    from mmdet.apis.train import swa_start_checkpoint
    from mmdet.utils import Config, close_dist, get_root_logger, init_dist
    init_dist('pytorch', timeout_s=60)
    work = sys.argv[1]
    if int(os.environ['RANK']) == 0:  # rank 0 evaluates the last epoch, then writes the best model
        time.sleep(3)
        torch.save({}, os.path.join(work, 'best_bbox_mAP.pth'))
    cfg = Config(dict(work_dir=work, swa_load_from='best_bbox_mAP.pth'))
    path = swa_start_checkpoint(cfg, get_root_logger())
    os.write(1, f"start {os.environ['RANK']} {path}\\n".encode())  # one write: the ranks share stdout
    close_dist()  # a live gloo group could abort the process at exit
''')

NAN_ON_ONE_RANK = textwrap.dedent('''
    import os, sys, types, torch
    sys.path.insert(0, os.environ['ROOT'])
    from torch.nn.parallel import DistributedDataParallel
    from mmdet.models.detectors.base import BaseDetector
    from mmdet.runner.hooks.optimizer import NonFiniteLossError, OptimizerHook
    from mmdet.utils import close_dist, get_root_logger, init_dist
    init_dist('pytorch', timeout_s=30)
    model = DistributedDataParallel(torch.nn.Linear(3, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(torch.ones(2, 3)).abs().mean()
    if int(os.environ['RANK']) == 1:
        loss = loss * float('nan')  # only this rank's batch went bad
    loss, log_vars = BaseDetector._parse_losses(dict(loss_cls=loss))
    runner = types.SimpleNamespace(outputs=dict(loss=loss, log_vars=log_vars, num_samples=2), amp=None,
                                   optimizer=opt, model=model, epoch=0, inner_iter=0, iter=0,
                                   logger=get_root_logger())
    try:
        OptimizerHook().after_train_iter(runner)
        os.write(1, f"stepped {os.environ['RANK']}\\n".encode())  # one write: the ranks share stdout
    except NonFiniteLossError:
        os.write(1, f"stopped {os.environ['RANK']}\\n".encode())
    close_dist()
''')


def torchrun(tmp_path, script, port, *args):
    path = tmp_path / 'script.py'
    path.write_text(script)
    env = dict(run_env(), ROOT=ROOT)
    return subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
                           str(port), str(path), *args], env=env, capture_output=True, text=True, timeout=150)


def test_swa_starts_on_every_rank_from_the_best_model_rank_0_wrote(tmp_path):
    """Rank 1 reaches the SWA stage while rank 0 is still evaluating; it must wait and take rank 0's file,
    not an older best model or ``latest.pth``."""
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'latest.pth').write_bytes(b'')
    out = torchrun(tmp_path, SWA_START, 29641, str(work))
    assert out.returncode == 0, out.stderr[-3000:]
    best = str(work / 'best_bbox_mAP.pth')
    assert sorted(line for line in out.stdout.splitlines() if line.startswith('start')) == [
        f'start 0 {best}', f'start 1 {best}']


def test_a_non_finite_loss_on_one_rank_stops_every_rank(tmp_path):
    """A NaN in one rank's loss stops all of them (the decision is on the averaged loss); before, the other
    rank went on into backward and waited in DDP's all-reduce for a rank that had stopped."""
    out = torchrun(tmp_path, NAN_ON_ONE_RANK, 29643)
    lines = sorted(line for line in out.stdout.splitlines() if line.startswith(('stopped', 'stepped')))
    assert lines == ['stopped 0', 'stopped 1'], out.stdout[-2000:] + out.stderr[-3000:]

TRAIN_STEP_SYNC = textwrap.dedent('''
    import os, sys, torch
    sys.path.insert(0, os.environ['ROOT'])
    from mmdet.models.detectors.base import BaseDetector
    from mmdet.parallel import DataContainer, MMDistributedDataParallel, collate
    from mmdet.utils import close_dist, init_dist
    init_dist('pytorch', timeout_s=30)
    rank = int(os.environ['RANK'])

    class Toy(BaseDetector):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.lin = torch.nn.Linear(3, 1)
            self.unused = torch.nn.Linear(3, 1)  # no gradient: needs find_unused_parameters
            self.calls = 0

        def forward(self, img, img_metas, return_loss=True):
            return dict(loss_toy=self.lin(img.flatten(1)).pow(2).mean())

        def train_step(self, data, optimizer=None):  # a user's override is what runs
            self.calls += 1
            return super().train_step(data, optimizer)

    model = Toy()
    ddp = MMDistributedDataParallel(model, find_unused_parameters=True, broadcast_buffers=False)
    for step in range(2):
        x = torch.arange(6.).reshape(2, 3) * (rank + 1) + step  # each rank its own batch
        batch = collate([dict(img=DataContainer(x[i].reshape(3, 1, 1), stack=True, pad_dims=None),
                              img_metas=DataContainer({}, cpu_only=True)) for i in range(2)], samples_per_gpu=2)
        model.zero_grad()
        out = ddp.train_step(batch, None)
        out['loss'].backward()
        grads = torch.cat([p.grad.flatten() for p in model.lin.parameters()])
        gathered = [torch.zeros_like(grads) for _ in range(2)]
        torch.distributed.all_gather(gathered, grads)
        # each rank's own gradient, for the mean: the loss of its batch alone
        own = torch.autograd.grad(model(x.reshape(2, 3, 1, 1), None)['loss_toy'], list(model.lin.parameters()))
        own = torch.cat([g.flatten() for g in own])
        owns = [torch.zeros_like(own) for _ in range(2)]
        torch.distributed.all_gather(owns, own)
        synced = torch.allclose(gathered[0], gathered[1]) and torch.allclose(gathered[0], (owns[0] + owns[1]) / 2)
        os.write(1, f"step {step} rank {rank} synced {synced} calls {model.calls}\\n".encode())
    close_dist()
''')


def test_mm_distributed_data_parallel_train_step_all_reduces_gradients(tmp_path):
    """``MMDistributedDataParallel.train_step`` runs the detector's (overridable) ``train_step`` through DDP's
    forward: after backward every rank holds the mean of the ranks' gradients, with unused parameters too."""
    out = torchrun(tmp_path, TRAIN_STEP_SYNC, 29645)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = sorted(line for line in out.stdout.splitlines() if line.startswith('step'))
    assert lines == [f'step {s} rank {r} synced True calls {s + 1}' for s in range(2) for r in range(2)], \
        out.stdout[-2000:] + out.stderr[-3000:]
