#!/usr/bin/env python
"""Average checkpoints into one SWA model.

    python tools/model_converters/get_swa_model.py WORK_DIR --start 1 --end 12 [--prefix swa_epoch_] --out swa.pth
    python tools/model_converters/get_swa_model.py --ckpts a.pth b.pth c.pth --out swa.pth

Epochs ``start..end`` are both included (the original script dropped the last).
Floating-point parameters and buffers are averaged with equal weights;
integer buffers (``num_batches_tracked``) are taken from the last checkpoint.
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


def main(argv=None):
    p = argparse.ArgumentParser(description='Average checkpoints (SWA)')
    p.add_argument('work_dir', nargs='?', help='directory holding <prefix><epoch>.pth files')
    p.add_argument('--start', type=int, default=1, help='first epoch (included)')
    p.add_argument('--end', type=int, help='last epoch (included)')
    p.add_argument('--prefix', default='swa_epoch_', help="file name prefix, e.g. 'swa_epoch_' or 'epoch_'")
    p.add_argument('--ckpts', nargs='+', help='explicit checkpoint files instead of work_dir/--start/--end')
    p.add_argument('--out', required=True, help='output checkpoint')
    args = p.parse_args(argv)
    if args.ckpts:
        paths = args.ckpts
    else:
        if args.work_dir is None or args.end is None:
            p.error('give WORK_DIR with --end (and --start), or --ckpts')
        paths = [osp.join(args.work_dir, f'{args.prefix}{e}.pth') for e in range(args.start, args.end + 1)]
    missing = [x for x in paths if not osp.isfile(x)]
    if missing:
        sys.exit(f'error: checkpoint(s) not found: {missing}')
    torch.save(average_checkpoints(paths), args.out)
    print(f'averaged {len(paths)} checkpoints into {args.out}')


if __name__ == '__main__':
    main()
