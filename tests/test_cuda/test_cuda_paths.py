"""CUDA paths: run when a GPU is present, skipped otherwise (CI has none)."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import ROOT, run_env, write_user_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')


@pytest.mark.parametrize('with_mask', [False, True])
def test_torchvision_cuda_deform_conv_equals_the_cpu_form(with_mask):
    """On CUDA the deformable conv is torchvision's kernel; on the CPU, grid_sample + matmul.
    Same function, forward and backward."""
    from mmdet.ops.deform_conv import deform_conv2d_sampled
    from torchvision.ops import deform_conv2d
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 13, 17, generator=g, dtype=torch.float64)
    w = torch.randn(16, 8, 3, 3, generator=g, dtype=torch.float64) * 0.1
    off = torch.randn(2, 18, 13, 17, generator=g, dtype=torch.float64) * 2
    mask = torch.rand(2, 9, 13, 17, generator=g, dtype=torch.float64) if with_mask else None
    args = [t.clone().requires_grad_() for t in (x, w, off)]
    cpu = deform_conv2d_sampled(*[args[0], args[2], args[1]], padding=(1, 1), mask=mask)
    cpu.square().sum().backward()
    gargs = [t.detach().cuda().requires_grad_() for t in (x, w, off)]
    gpu = deform_conv2d(gargs[0], gargs[2], gargs[1], padding=(1, 1), mask=None if mask is None else mask.cuda())
    gpu.square().sum().backward()
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-8)
    for a, b in zip(args, gargs):
        assert torch.allclose(a.grad, b.grad.cpu(), atol=1e-6)


def test_fp16_training_steps_with_grad_scaler():
    from mmdet.models import build_detector
    from mmdet.runner import AmpState
    from mmdet.utils import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'vfnet', 'vfnet_r50_fpn_1x_coco.py'))
    cfg.model.pretrained = None
    model = build_detector(cfg.model).cuda().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    amp = AmpState('cuda')
    metas = [dict(img_shape=(256, 320, 3), pad_shape=(256, 320, 3), scale_factor=np.ones(4, np.float32),
                  batch_input_shape=(256, 320))] * 2
    gts = [torch.tensor([[10., 20., 120., 200.]], device='cuda')] * 2
    labels = [torch.tensor([3], device='cuda')] * 2
    for _ in range(3):
        with amp.autocast():
            losses = model.forward_train(torch.randn(2, 3, 256, 320, device='cuda'), metas, gts, labels)
        loss = sum(v for v in losses.values())
        opt.zero_grad()
        amp.scaler.scale(loss).backward()
        amp.scaler.step(opt)
        amp.scaler.update()
        assert torch.isfinite(loss)
    assert amp.scaler.get_scale() > 0


def test_single_process_cuda_train_and_test(tmp_path, shapes_data):
    """tools/train.py and tools/test.py on one GPU, no NCCL process group."""
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data, epochs=1)
    env = run_env()
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(cfg), '--work-dir',
                          str(tmp_path / 'w'), '--no-validate'], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), str(cfg), str(tmp_path / 'w' /
                          'latest.pth'), '--eval', 'bbox'], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and 'bbox_mAP' in out.stdout, out.stderr[-3000:]


def test_cuda_rng_state_is_this_devices_and_round_trips():
    """Resume restores the CUDA generator of the process's device; a state saved on a machine with more
    GPUs (one per device, as earlier versions kept it) still loads."""
    from mmdet.runner.checkpoint import rng_state, set_rng_state
    state = rng_state()
    assert isinstance(state['cuda'], torch.Tensor)
    drawn = torch.rand(4, device='cuda')
    set_rng_state(state)
    assert torch.equal(torch.rand(4, device='cuda'), drawn)
    set_rng_state(dict(state, cuda=[state['cuda']] * (torch.cuda.device_count() + 8)))
    assert torch.equal(torch.rand(4, device='cuda'), drawn)
