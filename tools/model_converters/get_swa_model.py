#!/usr/bin/env python
"""Average checkpoints into one SWA model.

    python tools/model_converters/get_swa_model.py WORK_DIR --start 1 --end 12 [--prefix swa_epoch_] --out swa.pth
    python tools/model_converters/get_swa_model.py --ckpts a.pth b.pth c.pth --out swa.pth

Epochs ``start..end`` are both included (the original script dropped the last).
Floating-point parameters and buffers are averaged with equal weights;
integer buffers (``num_batches_tracked``) are taken from the last checkpoint.

With ``--config CFG --bn-batches N`` the BatchNorm statistics of the averaged
model are recomputed on N training batches (an average of weights is not an
average of activations).  Only BN layers that train their statistics are
touched: with ``norm_eval=True`` (the seed configs) the frozen statistics stay.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmdet.runner.checkpoint import load_state_dict_file  # noqa: E402


def average_checkpoints(paths):
    if not paths:
        raise ValueError('no checkpoints to average')
    avg, meta = None, {}
    for i, p in enumerate(paths):
        ckpt = load_state_dict_file(p)
        sd = ckpt.get('state_dict', ckpt)
        meta = ckpt.get('meta', {})
        if avg is None:
            avg = {k: v.clone().double() if v.is_floating_point() else v.clone() for k, v in sd.items()}
            continue
        if sd.keys() != avg.keys():
            raise KeyError(f'{p} has other keys than {paths[0]}: '
                           f'{sorted(set(sd) ^ set(avg))[:5]}')
        for k, v in sd.items():
            if v.is_floating_point():
                avg[k] += (v.double() - avg[k]) / (i + 1)
            else:
                avg[k] = v.clone()
    out = {k: v.float() if v.is_floating_point() else v for k, v in avg.items()}
    meta = dict(meta, swa_averaged=[osp.basename(p) for p in paths])
    return {'meta': meta, 'state_dict': out}


def update_bn(ckpt, config, num_batches):
    """Recompute running mean/var of the BN layers that are in training mode."""
    import copy

    from torch.nn.modules.batchnorm import _BatchNorm

    from mmdet.datasets import build_dataloader, build_dataset
    from mmdet.models import build_detector
    from mmdet.runner import to_device
    from mmdet.utils import Config
    cfg = Config.fromfile(config)
    cfg.model.pretrained = None
    model = build_detector(cfg.model)
    model.load_state_dict(ckpt['state_dict'])
    model.train()  # norm_eval puts frozen BN layers back into eval mode
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.training]
    if not bns:
        print('no BatchNorm layer trains its statistics (norm_eval / frozen): nothing to recompute')
        return ckpt
    momenta = {m: m.momentum for m in bns}
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    loader = build_dataloader(build_dataset(copy.deepcopy(cfg.data.train)), cfg.data.samples_per_gpu, 0, dist=False,
                              shuffle=True)
    done = 0
    with torch.no_grad():
        for data in loader:
            model(**to_device(data, 'cpu'))
            done += 1
            if done >= num_batches:
                break
    for m, mom in momenta.items():
        m.momentum = mom
    ckpt['state_dict'] = model.state_dict()
    ckpt['meta']['bn_recomputed_batches'] = done
    print(f'recomputed the statistics of {len(bns)} BatchNorm layers on {done} batches')
    return ckpt


def main(argv=None):
    p = argparse.ArgumentParser(description='Average checkpoints (SWA)')
    p.add_argument('work_dir', nargs='?', help='directory holding <prefix><epoch>.pth files')
    p.add_argument('--start', type=int, default=1, help='first epoch (included)')
    p.add_argument('--end', type=int, help='last epoch (included)')
    p.add_argument('--prefix', default='swa_epoch_', help="file name prefix, e.g. 'swa_epoch_' or 'epoch_'")
    p.add_argument('--ckpts', nargs='+', help='explicit checkpoint files instead of work_dir/--start/--end')
    p.add_argument('--out', required=True, help='output checkpoint')
    p.add_argument('--config', help='the model config (needed for --bn-batches)')
    p.add_argument('--bn-batches', type=int, default=0, help='recompute BN statistics on this many train batches')
    args = p.parse_args(argv)
    if args.bn_batches and not args.config:
        p.error('--bn-batches needs --config')
    if args.ckpts:
        paths = args.ckpts
    else:
        if args.work_dir is None or args.end is None:
            p.error('give WORK_DIR with --end (and --start), or --ckpts')
        paths = [osp.join(args.work_dir, f'{args.prefix}{e}.pth') for e in range(args.start, args.end + 1)]
    missing = [x for x in paths if not osp.isfile(x)]
    if missing:
        sys.exit(f'error: checkpoint(s) not found: {missing}')
    ckpt = average_checkpoints(paths)
    if args.bn_batches:
        ckpt = update_bn(ckpt, args.config, args.bn_batches)
    torch.save(ckpt, args.out)
    print(f'averaged {len(paths)} checkpoints into {args.out}')


if __name__ == '__main__':
    main()
