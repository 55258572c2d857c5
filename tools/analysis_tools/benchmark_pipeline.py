#!/usr/bin/env python
"""Per-step cost of a config's test pipeline on one image.

    python tools/analysis_tools/benchmark_pipeline.py CONFIG [--img demo/demo.jpg] [--repeat 50]

Prints the median milliseconds of every step (loading, then the steps inside
MultiScaleFlipAug) and their sum.
"""
import argparse
import copy
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.datasets.pipelines import PIPELINES, Compose  # noqa: E402
from mmdet.utils import build_from_cfg  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--img', default=osp.join(ROOT, 'demo', 'demo.jpg'))
    p.add_argument('--repeat', type=int, default=50)
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    steps = copy.deepcopy(cfg.data.test.pipeline)
    load = build_from_cfg(steps[0], PIPELINES)
    aug = steps[1] if len(steps) > 1 and steps[1]['type'] == 'MultiScaleFlipAug' else None
    inner = aug['transforms'] if aug else steps[1:]
    # a Compose, as datasets build it (it also sets the process up for the pipeline's large arrays)
    ops = list(zip([s['type'] for s in inner], Compose(inner).transforms))
    scale = aug['img_scale'] if aug else None
    scale = scale[0] if isinstance(scale, list) else scale
    times = {name: [] for name in ['LoadImage'] + [n for n, _ in ops]}
    for _ in range(args.repeat):
        start = time.perf_counter()
        r = load(dict(img_info=dict(filename=args.img), img_prefix=None))
        times['LoadImage'].append(time.perf_counter() - start)
        if scale is not None:
            r.update(scale=tuple(scale), flip=False, flip_direction=None)
        for name, op in ops:
            start = time.perf_counter()
            r = op(r)
            times[name].append(time.perf_counter() - start)
    med = {k: 1000 * sorted(v)[len(v) // 2] for k, v in times.items()}
    for k, v in med.items():
        print(f'{k:>20}: {v:6.2f} ms')
    print(f'{"total":>20}: {sum(med.values()):6.2f} ms per image ({args.img}, median of {args.repeat})')


if __name__ == '__main__':
    main()
