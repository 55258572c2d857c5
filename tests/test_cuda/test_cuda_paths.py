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


def _random_model(config, test_cfg=None):
    from mmdet.utils.gpu_check import build_random_model
    return build_random_model(osp.join(ROOT, 'configs', 'vfnet', config), 'cpu', test_cfg=test_cfg)[0].eval()


@pytest.mark.parametrize('config', ['vfnet_r50_fpn_1x_coco.py', 'vfnet_r50_fpn_mdconv_c3-c5_mstrain_2x_coco.py',
                                    'vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco.py'])
def test_cuda_forward_equals_cpu(config):
    """Same weights, same input: the head's raw outputs on CUDA (TF32 off) within 1e-3 relative of the
    CPU's (the CPU deformable conv is the gathered form, CUDA's is torchvision's kernel)."""
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    model = _random_model(config)
    g = torch.Generator().manual_seed(0)
    img = torch.randn(1, 3, 256, 384, generator=g)
    with torch.no_grad():
        cpu = model.bbox_head(model.extract_feat(img))
        model.cuda()
        gpu = model.bbox_head(model.extract_feat(img.cuda()))
    for group_cpu, group_gpu in zip(cpu, gpu):
        for a, b in zip(group_cpu, group_gpu):
            rel = (a - b.cpu()).abs().max() / a.abs().max().clamp(min=1e-6)
            assert rel <= 1e-3, (config, float(rel))


def test_cuda_soft_nms_equals_cpu():
    from mmdet.ops.nms import batched_nms
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(300, 2, generator=g) * 200
    boxes = torch.cat([xy, xy + 10 + torch.rand(300, 2, generator=g) * 60], 1)
    scores = torch.rand(300, generator=g)
    labels = torch.randint(0, 4, (300,), generator=g)
    cfg = dict(type='soft_nms', iou_threshold=0.6, min_score=1e-3, method='gaussian', sigma=0.5)
    dets_cpu, keep_cpu = batched_nms(boxes, scores, labels, dict(cfg))
    dets_gpu, keep_gpu = batched_nms(boxes.cuda(), scores.cuda(), labels.cuda(), dict(cfg))
    assert torch.equal(keep_cpu, keep_gpu.cpu())
    assert torch.allclose(dets_cpu, dets_gpu.cpu(), atol=1e-5)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_deformable_convs_train_under_autocast(dtype):
    """fp16 / bf16 autocast through every deformable conv (the mdconv backbone's DCNv2 and the head's
    star DCN): one step with finite losses and gradients, no Half/Float mix (mmdet #4172)."""
    from mmdet.runner.runner import AmpState
    from mmdet.utils.gpu_check import train_steps
    model = _random_model('vfnet_r50_fpn_mdconv_c3-c5_mstrain_2x_coco.py').cuda()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    mode = 'fp16' if dtype == torch.float16 else 'bf16'
    losses, _, _ = train_steps(model, state, mode, 'cuda', (256, 320), 2, 2)
    assert all(np.isfinite(losses)), losses
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert AmpState('cuda', 512.).scaler is not None


def test_cuda_deform_conv_under_autocast_is_a_float32_island():
    from mmdet.ops.deform_conv import ModulatedDeformConv2dPack
    conv = ModulatedDeformConv2dPack(8, 16, 3, padding=1).cuda()
    torch.nn.init.normal_(conv.conv_offset.weight, std=0.5)
    x = torch.randn(1, 8, 20, 24, device='cuda')
    ref = conv(x)
    with torch.autocast('cuda', dtype=torch.float16):
        out = conv(x.half())
    assert out.dtype == torch.float16
    assert torch.allclose(out.float(), ref, atol=2e-2, rtol=1e-2)


def test_exact_resume_on_cuda(tmp_path, shapes_data):
    """2 epochs in one go equal 1 epoch + resume on the GPU (deterministic cuDNN and cuBLAS).  The
    CUDA deformable conv's backward adds with atomics, so two runs differ in the last bits and a
    difference grows over an epoch: 1e-3, not the CPU test's 1e-5 (a resume that lost the optimizer
    state, the lr schedule or the RNG is off by far more)."""
    cfg = write_user_config(tmp_path / 'cfg.py', shapes_data, epochs=2)
    env = dict(run_env(), CUBLAS_WORKSPACE_CONFIG=':4096:8')
    train = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), str(cfg), '--seed', '0', '--deterministic',
             '--no-validate']
    for extra in (['--work-dir', str(tmp_path / 'full')],
                  ['--work-dir', str(tmp_path / 'part'), '--cfg-options', 'runner.max_epochs=1'],
                  ['--work-dir', str(tmp_path / 'part'), '--resume-from', str(tmp_path / 'part' / 'epoch_1.pth')]):
        out = subprocess.run(train + extra, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
    a = torch.load(tmp_path / 'full' / 'epoch_2.pth', weights_only=False)['state_dict']
    b = torch.load(tmp_path / 'part' / 'epoch_2.pth', weights_only=False)['state_dict']
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst <= 1e-3, worst
