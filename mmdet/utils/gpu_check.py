"""One check of every CUDA path, and the seed's speed table measured (``tools/analysis_tools/gpu_check.py``).

Five parts, each a list of rows ``dict(part, item, result, status)`` with status ``ok``, ``FAIL`` or
``skipped``:

1. ``tests/test_cuda`` through pytest;
2. training steps of VFNet-R50, the mdconv config and VFNet-X in fp32, ``fp16=dict(loss_scale=512.)``
   (the runner's :class:`~mmdet.runner.runner.AmpState`) and bf16 autocast: seconds per iteration,
   peak memory, finite losses, the first fp16 loss within 1 % of fp32's;
3. inference fps of the seed table's models in fp32, TF32, fp16/bf16 autocast, channels-last and
   ``torch.compile``, beside the seed's V100 number;
4. ``tools/dist_train.sh`` (NCCL on a GPU) for a few iterations of the quickstart config on generated
   data, then ``tools/dist_test.sh --eval bbox``;
5. the exported VFNet-R50 in onnxruntime (its CUDA provider when the onnxruntime-gpu wheel is there)
   against the PyTorch detections.

``dry_run=True`` runs the same code on the CPU at tiny sizes (one model per part, a few iterations),
so the script is exercised by the test suite on machines without a GPU.  The weights are random (no
checkpoints on a bare machine): inference times include the post-processing of what random scores
let through the score threshold, which is less than a trained model's.
"""
import contextlib
import json
import os
import os.path as osp
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from mmdet.utils.host import peak_memory_mb

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VFNET = osp.join(ROOT, 'configs', 'vfnet')

# (row name, config under configs/vfnet, seed V100 fps, padded (H, W) of the timed input)
SEED_FPS = [
    ('R-50', 'vfnet_r50_fpn_1x_coco.py', 19.4, (800, 1344)),
    ('R-50 DCN', 'vfnet_r50_fpn_mdconv_c3-c5_mstrain_2x_coco.py', 16.3, (800, 1344)),
    ('R-101', 'vfnet_r101_fpn_1x_coco.py', 15.5, (800, 1344)),
    ('R-101 DCN', 'vfnet_r101_fpn_mdconv_c3-c5_mstrain_2x_coco.py', 12.6, (800, 1344)),
    ('X-101-32x4d', 'vfnet_x101_32x4d_fpn_mstrain_2x_coco.py', 13.1, (800, 1344)),
    ('X-101-32x4d DCN', 'vfnet_x101_32x4d_fpn_mdconv_c3-c5_mstrain_2x_coco.py', 10.1, (800, 1344)),
    ('X-101-64x4d', 'vfnet_x101_64x4d_fpn_mstrain_2x_coco.py', 9.2, (800, 1344)),
    ('X-101-64x4d DCN', 'vfnet_x101_64x4d_fpn_mdconv_c3-c5_mstrain_2x_coco.py', 6.7, (800, 1344)),
    ('R2-101', 'vfnet_r2_101_fpn_mstrain_2x_coco.py', 13.0, (800, 1344)),
    ('R2-101 DCN', 'vfnet_r2_101_fpn_mdconv_c3-c5_mstrain_2x_coco.py', 10.3, (800, 1344)),
    ('VFNet-X 1333x800', 'vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco.py', 8.0, (800, 1344)),
    ('VFNet-X 1800x1200', 'vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco_1800x1200.py', 4.2, (1216, 1824)),
]
TRAIN_CONFIGS = ['vfnet_r50_fpn_1x_coco.py', 'vfnet_r50_fpn_mdconv_c3-c5_mstrain_2x_coco.py',
                 'vfnetx_r2_101_fpn_mdconv_c3-c5_mstrain_59e_coco.py']
INFER_MODES = ('fp32', 'tf32', 'fp16', 'bf16', 'channels_last', 'compile')
TRAIN_MODES = ('fp32', 'fp16', 'bf16')


def row(part, item, result, status='ok'):
    return dict(part=part, item=item, result=result, status=status)


def build_random_model(config, device, test_cfg=None):
    """The detector of ``config`` (a path) with random weights (seed 0), no pretrained file."""
    from mmdet.models import build_detector
    from mmdet.utils import Config
    cfg = Config.fromfile(config)
    cfg.model.pretrained = None
    if cfg.model.get('backbone', {}).get('init_cfg') is not None:
        cfg.model.backbone.init_cfg = None
    if test_cfg:
        cfg.model.test_cfg.update(test_cfg)
    torch.manual_seed(0)
    return build_detector(cfg.model).to(device), cfg


def image_metas(batch, shape):
    h, w = shape
    return [dict(img_shape=(h, w, 3), pad_shape=(h, w, 3), ori_shape=(h, w, 3), batch_input_shape=(h, w),
                 scale_factor=np.ones(4, np.float32), flip=False) for _ in range(batch)]


def synchronize(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def reset_peak(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


@contextlib.contextmanager
def precision(mode, device):
    """The numerics of one timed mode: ``fp32`` (TF32 off), ``tf32`` (TF32 matmuls and convs on CUDA),
    ``fp16``/``bf16`` autocast; ``channels_last`` and ``compile`` run under fp16 autocast on CUDA and bf16
    on the CPU (the model is converted by :func:`prepare_model`)."""
    dev = torch.device(device).type
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = mode == 'tf32'
    try:
        if mode in ('fp32', 'tf32'):
            yield
        else:
            half = torch.float16 if dev == 'cuda' else torch.bfloat16
            dtype = torch.bfloat16 if mode == 'bf16' else half
            with torch.autocast(dev, dtype=dtype):
                yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def prepare_model(model, mode):
    """``channels_last``: the model's 4-d weights in NHWC; ``compile``: ``torch.compile`` of the
    feature extractor (backbone + neck; the head's post-processing has data-dependent shapes)."""
    if mode == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
    elif mode == 'compile':
        model.extract_feat = torch.compile(model.extract_feat)
    return model


def time_inference(model, shape, batch, mode, device, min_seconds=2.0, max_iters=50, warmup=3):
    """Images/s of ``model.simple_test`` on a random (batch, 3, H, W) input in ``mode``; returns
    ``(fps, iterations)`` after ``warmup`` untimed calls (``compile`` compiles there)."""
    g = torch.Generator().manual_seed(0)
    img = torch.randn(batch, 3, *shape, generator=g).to(device)
    if mode in ('channels_last', 'compile'):
        img = img.contiguous(memory_format=torch.channels_last)
    metas = image_metas(batch, shape)
    with torch.inference_mode(), precision(mode, device):
        for _ in range(warmup):
            model.simple_test(img, metas, rescale=True)
        synchronize(device)
        t0, n = time.perf_counter(), 0
        while n < max_iters and (n == 0 or time.perf_counter() - t0 < min_seconds):
            model.simple_test(img, metas, rescale=True)
            n += 1
        synchronize(device)
    return batch * n / (time.perf_counter() - t0), n


def inference_part(device, models, batches, modes, min_seconds, dry_run, deadline=None, compile_models=1):
    """fps rows of ``models`` (SEED_FPS entries).  One model build serves every mode: fp32, tf32, fp16
    and bf16 as built, then ``channels_last`` converts it and ``compile`` (on the first
    ``compile_models`` models only: compiling costs a minute each) wraps it.  Batches above 1 are timed
    in fp32 and fp16 only.  Rows after ``deadline`` (a ``time.perf_counter()`` value) are skipped."""
    rows = []
    order = [m for m in INFER_MODES if m in modes]
    for index, (name, config, seed_fps, shape) in enumerate(models):
        shape = (64, 96) if dry_run else shape
        if deadline is not None and time.perf_counter() > deadline:
            rows.append(row('inference', name, 'out of time (the check keeps to its budget)', 'skipped'))
            continue
        try:
            model, _ = build_random_model(osp.join(VFNET, config), device)
            model.eval()
        except Exception as e:  # a model that cannot be built is one failed row, not a stopped check
            rows.append(row('inference', name, f'{type(e).__name__}: {e}'[:200], 'FAIL'))
            continue
        for mode in order:
            if mode == 'compile' and index >= compile_models:
                continue
            try:
                model = prepare_model(model, mode)
            except Exception as e:
                rows.append(row('inference', f'{name} {mode}', f'{type(e).__name__}: {e}'[:200],
                                'skipped' if mode == 'compile' else 'FAIL'))
                continue
            for batch in batches:
                if batch > 1 and mode not in ('fp32', 'fp16'):
                    continue
                item = f'{name} {shape[1]}x{shape[0]} batch {batch} {mode}'
                if deadline is not None and time.perf_counter() > deadline:
                    rows.append(row('inference', item, 'out of time (the check keeps to its budget)', 'skipped'))
                    continue
                try:
                    reset_peak(device)
                    fps, n = time_inference(model, shape, batch, mode, device, min_seconds=min_seconds,
                                            warmup=1 if dry_run else (3 if mode == 'compile' else 2))
                    ratio = f', {fps / seed_fps:.1f}x the seed V100 {seed_fps}' if batch == 1 else ''
                    rows.append(row('inference', item, f'{fps:.1f} img/s ({n} it, peak {peak_memory_mb(device):.0f} MB)'
                                    f'{ratio}') | dict(fps=fps, seed_fps=seed_fps, batch=batch, mode=mode,
                                                       model=name))
                except Exception as e:
                    status = 'skipped' if mode == 'compile' else 'FAIL'  # compile: "where it works"
                    rows.append(row('inference', item, f'{type(e).__name__}: {e}'[:200], status))
        del model
    return rows


def _boxes(shape, device):
    h, w = shape
    b = torch.tensor([[0.06, 0.08, 0.5, 0.62], [0.45, 0.12, 0.75, 0.88], [0.22, 0.37, 0.27, 0.47]])
    return b * torch.tensor([w, h, w, h], dtype=torch.float32), torch.tensor([0, 5, 9])


def train_steps(model, state, mode, device, shape, batch, steps):
    """``steps`` SGD steps from ``state`` in ``mode``; ``(losses, seconds per step, peak MB)``."""
    from mmdet.runner.runner import AmpState
    model.load_state_dict(state)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    amp = AmpState(device, 512.) if mode == 'fp16' else None
    g = torch.Generator().manual_seed(1)
    img = torch.randn(batch, 3, *shape, generator=g).to(device)
    boxes, labels = _boxes(shape, device)
    gts, gls = [boxes.to(device)] * batch, [labels.to(device)] * batch
    losses, times = [], []
    reset_peak(device)
    for _ in range(steps):
        synchronize(device)
        t0 = time.perf_counter()
        if amp is not None:
            ctx = amp.autocast()
        elif mode == 'bf16':
            ctx = torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
        else:
            ctx = contextlib.nullcontext()
        with ctx:
            out = model.forward_train(img, image_metas(batch, shape), gts, gls)
        loss = model._parse_losses(out)[0]
        opt.zero_grad(set_to_none=True)
        if amp is not None and amp.scaler is not None:
            amp.scaler.scale(loss).backward()
            amp.scaler.step(opt)
            amp.scaler.update()
        else:
            loss.backward()
            opt.step()
        synchronize(device)
        times.append(time.perf_counter() - t0)
        losses.append(float(loss))
    return losses, statistics.median(times[1:] or times), peak_memory_mb(device)


def training_part(device, configs, modes, shape, batch, steps):
    rows = []
    for config in configs:
        name = osp.splitext(config)[0]
        try:
            model, _ = build_random_model(osp.join(VFNET, config), device)
        except Exception as e:
            rows.append(row('training', name, f'{type(e).__name__}: {e}'[:200], 'FAIL'))
            continue
        state = {k: v.clone() for k, v in model.state_dict().items()}
        first = {}
        for mode in modes:
            item = f'{name} {batch}x3x{shape[0]}x{shape[1]} {mode}'
            try:
                losses, sec, mem = train_steps(model, state, mode, device, shape, batch, steps)
            except Exception as e:
                rows.append(row('training', item, f'{type(e).__name__}: {e}'[:200], 'FAIL'))
                continue
            first[mode] = losses[0]
            finite = all(np.isfinite(losses))
            result = f'{sec:.3f} s/it, peak {mem:.0f} MB, losses {", ".join(f"{v:.4f}" for v in losses)}'
            ok = finite
            if mode != 'fp32' and 'fp32' in first:
                rel = abs(losses[0] - first['fp32']) / max(abs(first['fp32']), 1e-12)
                # float16 on CUDA: the 1 %; bfloat16 (8 mantissa bits) gets 5 %
                tol = 0.01 if mode == 'fp16' and torch.device(device).type == 'cuda' else 0.05
                result += f'; first loss {100 * rel:.2f} % from fp32 (limit {100 * tol:.0f} %)'
                ok = ok and rel <= tol
            rows.append(row('training', item, result, 'ok' if ok else 'FAIL') |
                        dict(seconds_per_iter=sec, peak_mb=mem, losses=losses, mode=mode, config=config))
        del model
    return rows


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_env():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.setdefault('PYTHON', sys.executable)
    return env


def pytest_part(timeout):
    cmd = [sys.executable, '-m', 'pytest', osp.join(ROOT, 'tests', 'test_cuda'), '-q', '-p', 'no:cacheprovider']
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=ROOT, env=run_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [row('pytest', 'tests/test_cuda', f'timed out after {timeout} s', 'FAIL')]
    summary = (out.stdout.strip().splitlines() or [''])[-1]
    failed = re.findall(r'^(?:FAILED|ERROR) (\S+)', out.stdout, re.M)
    rows = [row('pytest', 'tests/test_cuda', f'{summary} ({time.perf_counter() - t0:.0f} s)',
                'ok' if out.returncode in (0, 5) else 'FAIL')]
    rows += [row('pytest', name, 'failed', 'FAIL') for name in failed]
    return rows


def distributed_part(work_dir, iters, gpus, timeout):
    """dist_train.sh for ``iters`` iterations (batches of 4: a generated set of 4 * iters images, one
    epoch) of the quickstart config, then dist_test.sh --eval bbox on its val set."""
    from mmdet.datasets.synthetic import make_shapes_dataset
    data = osp.join(work_dir, 'shapes')
    make_shapes_dataset(data, num_train=4 * iters, num_val=8, seed=0)
    d = data + '/'
    opts = [f'data.{s}.{k}={d}{v}' for s in ('train', 'val', 'test') for k, v in
            (('ann_file', f'annotations/instances_{"train" if s == "train" else "val"}.json'),
             ('img_prefix', 'train/' if s == 'train' else 'val/'))]
    opts += ['runner.max_epochs=1', 'checkpoint_config.interval=1', 'lr_config.warmup_iters=5']
    config = osp.join(ROOT, 'configs', 'shapes', 'vfnet_r18_fpn_shapes_fast.py')
    wd = osp.join(work_dir, 'dist')
    env = dict(run_env(), PORT=str(free_port()))
    rows = []
    for tool, args in (('dist_train.sh', [config, str(gpus), '--work-dir', wd, '--no-validate', '--seed', '0']),
                       ('dist_test.sh', [config, osp.join(wd, 'latest.pth'), str(gpus), '--eval', 'bbox'])):
        t0 = time.perf_counter()
        try:
            out = subprocess.run(['bash', osp.join(ROOT, 'tools', tool), *args, '--cfg-options', *opts], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            rows.append(row('distributed', tool, f'timed out after {timeout} s', 'FAIL'))
            break
        log = out.stdout + out.stderr
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        m = re.search(r"'bbox_mAP': ([0-9.]+)", log)
        result = f'{gpus} process(es), {backend}, {time.perf_counter() - t0:.0f} s' + \
            (f', bbox_mAP {m.group(1)}' if m else '')
        if out.returncode:
            result += ': ' + log.strip().splitlines()[-1][:200] if log.strip() else ''
        rows.append(row('distributed', tool, result, 'ok' if out.returncode == 0 else 'FAIL'))
        if out.returncode:
            break
    return rows


def onnx_part(work_dir, device, shape, optimize=True):
    """Export VFNet-R50 (random weights, score_thr 0.005 so detections exist) at ``shape`` and compare
    onnxruntime's detections with PyTorch's on one random image (``optimize``: as :func:`export_onnx`)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return [row('onnx', 'onnxruntime', 'not installed (pip install -e ".[deploy]")', 'skipped')]
    from mmdet.deployment.export import export_onnx
    from mmdet.deployment.ort import ONNXRuntimeDetector
    from mmdet.deployment.verify import compare_results
    gpu = torch.device(device).type == 'cuda'
    providers = ['CPUExecutionProvider']
    if gpu and 'CUDAExecutionProvider' in ort.get_available_providers():
        providers.insert(0, 'CUDAExecutionProvider')
    model, cfg = build_random_model(osp.join(VFNET, 'vfnet_r50_fpn_1x_coco.py'), 'cpu',
                                    test_cfg=dict(score_thr=0.005))
    model.eval()
    onnx_file = osp.join(work_dir, 'vfnet_r50.onnx')
    t0 = time.perf_counter()
    export_onnx(model, onnx_file, shape=shape, logger=lambda *a: None, optimize=optimize)
    detector = ONNXRuntimeDetector(onnx_file, cfg, providers=providers)
    g = torch.Generator().manual_seed(2)
    img = torch.randn(1, 3, *shape, generator=g)
    meta = image_metas(1, shape)[0]
    ref_model = model.to(device)
    with torch.no_grad():
        ref = ref_model.simple_test(img.to(device), [meta], rescale=True)[0]
    got = detector(img.numpy(), meta)
    # a GPU's conv algorithms differ from the CPU's in the last bits: boxes within 0.05 px there
    ok, msg = compare_results(ref, got, box_tol=0.05 if gpu else 0.01, score_tol=1e-3 if gpu else 1e-4)
    used = detector.session.get_providers()[0]
    rows = [row('onnx', f'VFNet-R50 {shape[1]}x{shape[0]} {used} vs PyTorch on {device}',
                f'{msg} ({time.perf_counter() - t0:.0f} s)', 'ok' if ok else 'FAIL')]
    if gpu and providers[0] != 'CUDAExecutionProvider':
        rows.append(row('onnx', 'onnxruntime-gpu', 'CUDAExecutionProvider not available (pip install '
                        'onnxruntime-gpu)', 'skipped'))
    return rows


def environment(device):
    info = dict(date=time.strftime('%Y-%m-%d %H:%M'), python=platform.python_version(), torch=torch.__version__,
                cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(), device=str(device),
                machine=platform.processor() or platform.machine())
    try:
        import torchvision
        info['torchvision'] = torchvision.__version__
    except ImportError:
        pass
    if torch.device(device).type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def run_check(parts=('pytest', 'training', 'distributed', 'onnx', 'inference'), device=None, dry_run=False,
              work_dir=None, inference_models=None, inference_modes=None, batches=(1, 8), min_seconds=1.0,
              train_steps_n=3, budget_s=450, log=print):
    """Run the chosen parts; returns ``dict(environment, rows)``.  ``dry_run``: CPU, 64x96 inputs,
    VFNet-R50 only in training and inference, no ``compile``, 2 distributed iterations.  The inference
    part (the elastic one) skips its remaining rows once ``budget_s`` seconds of the whole check have
    passed (it runs last by default), so the check keeps to its time on a lent machine."""
    start = time.perf_counter()
    device = device or ('cuda' if torch.cuda.is_available() and not dry_run else 'cpu')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('gpu_check: no CUDA device here (use --dry-run for the CPU form)')
    work_dir = work_dir or tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(work_dir, exist_ok=True)
    env = environment(device)
    log(f'gpu check on {env.get("gpu", device)}: torch {env["torch"]}, CUDA {env["cuda"]}, work dir {work_dir}')
    models = [m for m in SEED_FPS if inference_models is None or m[0] in inference_models]
    modes = inference_modes or (('fp32', 'fp16') if dry_run else INFER_MODES)
    if dry_run and inference_models is None:
        models = SEED_FPS[:1]
    rows = []
    for part in parts:
        t0 = time.perf_counter()
        if part == 'pytest':
            new = pytest_part(timeout=300)
        elif part == 'training':
            configs = TRAIN_CONFIGS[:1] if dry_run else TRAIN_CONFIGS
            new = training_part(device, configs, TRAIN_MODES, (64, 96) if dry_run else (800, 1344), 2,
                                2 if dry_run else train_steps_n)
        elif part == 'inference':
            new = inference_part(device, models, (1, 2) if dry_run else batches, modes,
                                 0.0 if dry_run else min_seconds, dry_run, deadline=start + budget_s)
        elif part == 'distributed':
            new = distributed_part(work_dir, 2 if dry_run else 20, 1, timeout=300)
        elif part == 'onnx':
            new = onnx_part(work_dir, device, (64, 96) if dry_run else (800, 1344), optimize=not dry_run)
        else:
            raise ValueError(f'gpu_check: unknown part {part!r}; known: pytest, training, inference, '
                             'distributed, onnx')
        for r in new:
            log(f'[{r["status"]}] {r["part"]}: {r["item"]}: {r["result"]}')
        log(f'{part}: {time.perf_counter() - t0:.0f} s')
        rows += new
    return dict(environment=env, dry_run=dry_run, rows=rows)


def markdown(report):
    env = report['environment']
    lines = [f'{env.get("gpu", env["device"])}, torch {env["torch"]}, CUDA {env["cuda"]}, cuDNN {env["cudnn"]}, '
             f'{env["date"]}{" (dry run)" if report["dry_run"] else ""}', '',
             '| part | item | result | status |', '|---|---|---|---|']
    lines += [f'| {r["part"]} | {r["item"]} | {r["result"].replace("|", "/")} | {r["status"]} |'
              for r in report['rows']]
    return '\n'.join(lines)


def write_json(report, path):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(report, f, indent=1, default=float)
