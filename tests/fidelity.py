"""Check this project against outputs recorded from the original VarifocalNet
code (MMDetection 2.10 fork + mmcv-full), without the original installed.

A case (``tests/data/fidelity/cases/*.npz``) names a seed config, holds the
input batch and what the original computed for it with *deterministic
weights*: every state-dict entry filled from its key and shape alone (the rule
in :func:`deterministic_value`), so any implementation with the same layout
gets the same weights.  Recorded: per-level head outputs, ``simple_test`` /
``aug_test`` detections at ``score_thr=0.005``, the training losses (with gt in
both images, and with the second image empty) and 17-number sketches of chosen
gradients (:func:`sketch`).

    python tests/fidelity.py tests/data/fidelity/cases/*.npz     # one line per check

Tolerances: outputs and losses 1e-4 relative, gradient sketches 1e-3;
detections: >= 98 % of the reference ones matched (same image and class, box
IoU > 0.99 or corners within 0.05 px, score within 0.1 %), counts within 2 %.
"""
import glob
import json
import os.path as osp
import sys
import zlib

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CASES = osp.join(ROOT, 'tests', 'data', 'fidelity', 'cases')

# output convs whose values feed exp() or offsets are scaled down ten-fold
SMALL_OUTPUTS = ('vfnet_reg.', 'vfnet_reg_refine.', 'retina_reg.', 'conv_reg.', 'reppoints_pts_init_out.',
                 'reppoints_pts_refine_out.', 'atss_reg.')
# classification biases start near the usual 0.01 prior
CLS_BIASES = ('vfnet_cls.bias', 'atss_cls.bias', 'retina_cls.bias', 'conv_cls.bias', 'reppoints_cls_out.bias')

# the recorded batch: two 256x320 inputs, the second image 240x300 inside the pad
METAS = [dict(img_shape=(256, 320, 3), pad_shape=(256, 320, 3), ori_shape=(512, 640, 3), flip=False,
              scale_factor=np.full(4, 0.5, np.float32), batch_input_shape=(256, 320), filename='a.jpg',
              ori_filename='a.jpg'),
         dict(img_shape=(240, 300, 3), pad_shape=(256, 320, 3), ori_shape=(480, 600, 3), flip=False,
              scale_factor=np.full(4, 0.5, np.float32), batch_input_shape=(256, 320), filename='b.jpg',
              ori_filename='b.jpg')]
GT_BBOXES = [np.array([[10, 20, 120, 200], [150, 30, 300, 140], [60, 60, 90, 100]], np.float32),
             np.array([[5, 5, 250, 230], [100, 120, 160, 170]], np.float32)]
GT_LABELS = [np.array([3, 17, 3]), np.array([0, 79])]


def deterministic_value(key, shape):
    """The value of state-dict entry ``key``: standard normals from a generator
    seeded by crc32(key), shaped by role (BN statistics, scales, conv weights
    scaled by 1/sqrt(fan-in), norm weights near 1, biases near 0)."""
    shape = tuple(int(s) for s in shape)
    z = np.random.default_rng(zlib.crc32(key.encode())).standard_normal(int(np.prod(shape)) if shape else 1)
    z = z.reshape(shape)
    leaf = key.rsplit('.', 1)[-1]
    if leaf == 'num_batches_tracked':
        return np.zeros(shape, np.int64)
    if leaf == 'running_var':
        v = 1.0 + 0.1 * np.abs(z)
    elif leaf == 'running_mean':
        v = 0.1 * z
    elif leaf == 'scale':
        v = 1.0 + 0.05 * z
    elif len(shape) >= 2:
        v = z / np.sqrt(np.prod(shape[1:])) * (0.1 if any(s in key for s in SMALL_OUTPUTS) else 1.0)
    elif leaf == 'weight':
        v = 1.0 + 0.1 * z
    elif key.endswith(CLS_BIASES):
        v = -4.595 + 0.5 * z
    else:
        v = 0.1 * z
    return v.astype(np.float32)


def fill_deterministic(model):
    sd = model.state_dict()
    model.load_state_dict({k: torch.from_numpy(np.asarray(deterministic_value(k, v.shape))).to(v.dtype)
                           for k, v in sd.items()})


def sketch(key, grad, width=16):
    """The gradient's norm and its projection on ``width`` fixed random directions."""
    g = np.asarray(grad, np.float64).reshape(-1)
    proj = np.random.default_rng(zlib.crc32(('sketch:' + key).encode())).standard_normal((g.size, width))
    return np.concatenate([[np.linalg.norm(g)], g @ proj / np.sqrt(g.size)]).astype(np.float32)


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float('inf')
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


def build_case_model(case):
    from mmdet.models import build_detector
    from mmdet.utils import Config
    name = str(case['config'])
    paths = glob.glob(osp.join(ROOT, 'configs', '**', name), recursive=True)
    if not paths:
        raise FileNotFoundError(f'config {name} of the case is not under configs/')
    cfg = Config.fromfile(paths[0])
    cfg.model.pretrained = None
    for key, value in (json.loads(str(case['overrides'])) if 'overrides' in case.files else {}).items():
        node = cfg.model
        *parents, leaf = key.split('.')
        for p in parents:
            node = node[p]
        node[leaf] = value
    for key, value in (json.loads(str(case['test_cfg'])) if 'test_cfg' in case.files else {}).items():
        cfg.model.test_cfg[key] = value
    model = build_detector(cfg.model)
    fill_deterministic(model)
    return model


def dets_table(results):
    """Per image, per class (n, 5) arrays -> (N, 7) rows [image, class, x1, y1, x2, y2, score]."""
    rows = [[i, c, *r] for i, per_cls in enumerate(results) for c, d in enumerate(per_cls)
            for r in np.asarray(d).reshape(-1, 5)]
    return np.array(rows, np.float32).reshape(-1, 7)


def match_dets(got, ref):
    """How many reference detections have a partner in ``got``; the verdict."""
    def iou(a, b):
        lt, rb = np.maximum(a[:2], b[:, :2]), np.minimum(a[2:], b[:, 2:])
        inter = np.clip(rb - lt, 0, None).prod(1)
        area = lambda x: np.clip(x[..., 2] - x[..., 0], 0, None) * np.clip(x[..., 3] - x[..., 1], 0, None)  # noqa
        return inter / np.maximum(area(a) + area(b) - inter, 1e-9)
    matched = 0
    for r in ref:
        cand = got[(got[:, 0] == r[0]) & (got[:, 1] == r[1])]
        if not len(cand):
            continue
        same_score = np.abs(cand[:, 6] - r[6]) <= 1e-5 + 1e-3 * abs(r[6])
        same_box = (iou(r[2:6], cand[:, 2:6]) > 0.99) | (np.abs(cand[:, 2:6] - r[2:6]).max(1) < 0.05)
        matched += bool(np.any(same_box & same_score))
    ok = len(ref) > 0 and matched >= 0.98 * len(ref) and abs(len(got) - len(ref)) <= 0.02 * len(ref) + 1
    return ok, f'{matched}/{len(ref)} reference detections matched, {len(got)} produced'


def _tta_views(x):
    """Two scales (1 and 0.75) x (plain, flipped), as the recorded aug_test."""
    small = torch.nn.functional.interpolate(x, size=(192, 240), mode='bilinear', align_corners=False)
    imgs, metas = [], []
    for t, scale in ((x, 1.0), (small, 0.75)):
        for flip in (False, True):
            ms = []
            for m in METAS[:x.shape[0]]:
                m = dict(m)
                m.update(img_shape=(int(m['img_shape'][0] * scale), int(m['img_shape'][1] * scale), 3),
                         pad_shape=(t.shape[2], t.shape[3], 3), batch_input_shape=(t.shape[2], t.shape[3]),
                         flip=flip, flip_direction='horizontal',
                         scale_factor=(m['scale_factor'] * scale).astype(np.float32))
                ms.append(m)
            imgs.append(torch.flip(t, [3]) if flip else t)
            metas.append(ms)
    return imgs, metas


def _total(v):
    return sum(v) if isinstance(v, (list, tuple)) else v


def run_case(path):
    """Yield ``(check name, ok, detail)`` for every reference the case holds."""
    case = np.load(path, allow_pickle=False)
    name = osp.basename(path)[:-4]
    keys = case.files
    torch.manual_seed(0)
    model = build_case_model(case)
    x = torch.from_numpy(case['img'])
    model.eval()
    with torch.no_grad():
        heads = sorted(k for k in keys if k.startswith('head_out.'))
        if heads:
            outs = model.bbox_head(model.extract_feat(x))
            worst = max(rel_err(outs[int(k.split('.')[1])][int(k.split('.')[2])].numpy(), case[k]) for k in heads)
            yield f'{name} head outputs', worst < 1e-4, f'worst relative error {worst:.2e} over {len(heads)} maps'
        if 'dets' in keys:
            if name.endswith('_tta'):
                imgs, metas = _tta_views(x)
                res = model.aug_test(imgs, metas, rescale=True)
            else:
                res = model.simple_test(x, [dict(m) for m in METAS], rescale=True)
            yield (f'{name} detections', *match_dets(dets_table(res), case['dets']))
    loss_keys = [k for k in keys if k.startswith('loss.')]
    if not loss_keys:
        return
    model.train()
    model.zero_grad()
    losses = model.forward_train(x, [dict(m) for m in METAS], [torch.from_numpy(b) for b in GT_BBOXES],
                                 [torch.from_numpy(lb) for lb in GT_LABELS])
    total = 0
    for k in loss_keys:
        v = losses.get(k[5:])
        if v is None:
            yield f'{name} {k}', False, f'missing; produced {sorted(losses)}'
            continue
        v = _total(v)
        total = total + v
        yield (f'{name} {k}', rel_err(v.detach().numpy(), case[k]) < 1e-4,
               f'{float(v.detach()):.6g} vs {float(case[k]):.6g}')
    grad_keys = [k for k in keys if k.startswith('grad.')]
    if grad_keys and torch.is_tensor(total):
        total.backward()
        params = dict(model.named_parameters())
        for k in grad_keys:
            p = params.get(k[5:])
            if p is None or p.grad is None:
                yield f'{name} {k}', False, 'no gradient'
                continue
            e = rel_err(sketch(k[5:], p.grad.numpy()), case[k])
            yield f'{name} {k}', e < 1e-3, f'sketch relative error {e:.2e}'
    empty = [k for k in keys if k.startswith('empty_loss.')]
    if empty:
        losses = model.forward_train(x, [dict(m) for m in METAS],
                                     [torch.from_numpy(GT_BBOXES[0]), torch.zeros((0, 4))],
                                     [torch.from_numpy(GT_LABELS[0]), torch.zeros((0,), dtype=torch.long)])
        for k in empty:
            v = losses.get(k[11:])
            if v is None:
                yield f'{name} {k}', False, 'missing'
                continue
            v = _total(v)
            yield (f'{name} {k}', rel_err(v.detach().numpy(), case[k]) < 1e-4,
                   f'{float(v.detach()):.6g} vs {float(case[k]):.6g}')


def main(paths):
    sys.path.insert(0, ROOT)
    results = []
    for p in paths:
        try:
            for check, ok, detail in run_case(p):
                results.append(ok)
                print(f"{'ok  ' if ok else 'FAIL'} {check}: {detail}")
        except Exception as e:  # a crash is a failed check
            results.append(False)
            print(f'FAIL {osp.basename(p)}: {type(e).__name__}: {e}')
    print(f'fidelity: {sum(results)}/{len(results)} checks hold')
    return 0 if results and all(results) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:] or sorted(glob.glob(osp.join(CASES, '*.npz')))))
