#!/usr/bin/env python
"""Parameters and GFLOPs of a detector (backbone + neck + head, no NMS).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 1280 800]

"Flops" are multiply-adds, as MMDetection 2.x prints them; the line below gives
the count with multiplies and adds separate.  Deformable convs are counted like
regular convs of the same shape (see mmdet.models.complexity).
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.models import build_detector  # noqa: E402
from mmdet.models.complexity import model_complexity  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Get a detector\'s parameters and FLOPs')
    p.add_argument('config', help='config file')
    p.add_argument('--shape', type=int, nargs='+', default=[1280, 800], help='input H W (one value: square)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    if len(args.shape) == 1:
        shape = (args.shape[0], args.shape[0])
    elif len(args.shape) == 2:
        shape = tuple(args.shape)
    else:
        raise ValueError('--shape takes H W or one size')
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.pretrained = None
    model = build_detector(cfg.model, test_cfg=cfg.get('test_cfg'))
    c = model_complexity(model, shape)
    split = ', '.join(f'{k} {v / 2e9:.2f}' for k, v in sorted(c['by_op'].items()))
    line = '=' * 30
    print(f'{line}\nInput shape: {(3, *shape)}\nFlops: {c["macs"] / 1e9:.2f} GFLOPs\n'
          f'Params: {c["params"] / 1e6:.2f} M\n{line}')
    print(f'(multiply-adds by op, G: {split}; {c["flops"] / 1e9:.2f} GFLOPs counting multiplies and adds apart)')
    print('Counted by torch.utils.flop_counter on the backbone, neck and head; deformable convs count as the '
          'convs of the same shape. Check the numbers before you use them in a paper.')


if __name__ == '__main__':
    main()
