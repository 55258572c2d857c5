#!/usr/bin/env python
"""Plot curves or compute training time from ``*.log.json`` files.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json --keys loss bbox_mAP --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json
"""
import argparse
import json
import os.path as osp
import sys
import warnings
from collections import defaultdict

import numpy as np


def load_json_logs(paths):
    """Per file: {epoch: [record, ...]} in file order (train and val records)."""
    out = []
    for path in paths:
        by_epoch = defaultdict(list)
        with open(path) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    if 'epoch' in rec:
                        by_epoch[rec['epoch']].append(rec)
        out.append(by_epoch)
    return out


def cal_train_time(logs, paths, include_outliers=False):
    for log, path in zip(logs, paths):
        print(f'{"-" * 5}Analyze train time of {path}{"-" * 5}')
        times = [np.array([r['time'] for r in recs if r.get('mode') == 'train']) for _, recs in sorted(log.items())]
        times = [t if include_outliers else t[1:] for t in times]
        times = [t for t in times if len(t)]
        if not times:
            print('no training iterations logged')
            continue
        means = np.array([t.mean() for t in times])
        print(f'slowest epoch {int(means.argmax()) + 1}, average time is {means.max():.4f}')
        print(f'fastest epoch {int(means.argmin()) + 1}, average time is {means.min():.4f}')
        print(f'time std over epochs is {means.std():.4f}')
        print(f'average iter time: {np.concatenate(times).mean():.4f} s/iter')


def _series(log, key):
    """(xs, ys, x-label): per iteration for values logged while training,
    per epoch for values logged by evaluation (mode 'val')."""
    iters_per_epoch = max([r.get('iter', 0) for recs in log.values() for r in recs if r.get('mode') == 'train'] + [1])
    train, val = ([], []), ([], [])
    for e, recs in sorted(log.items()):
        for r in recs:
            if key not in r:
                continue
            if r.get('mode') == 'train':
                train[0].append((e - 1) * iters_per_epoch + r['iter'])
                train[1].append(r[key])
            else:
                val[0].append(e)
                val[1].append(r[key])
    return (*train, 'iter') if train[0] else (*val, 'epoch')


def _use_style(plt, style):
    """2.x's seaborn style names (dark, darkgrid, white, whitegrid, ticks) without
    needing seaborn: matplotlib ships them as ``seaborn-v0_8-<name>``."""
    if not style:
        return
    try:
        import seaborn as sns
        sns.set_style(style)
        return
    except ImportError:
        pass
    for name in (f'seaborn-v0_8-{style}', f'seaborn-{style}', style):
        if name in plt.style.available:
            plt.style.use(name)
            return
    warnings.warn(f'--style {style}: no such seaborn or matplotlib style; using the default')


def plot_curve(logs, paths, keys, out=None, title=None, legend=None, backend=None, style='dark'):
    import matplotlib
    if backend is not None:
        matplotlib.use(backend)
    elif out is not None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    legend = legend or [f'{osp.basename(p)} {k}' for p in paths for k in keys]
    if len(legend) != len(paths) * len(keys):
        raise ValueError(f'--legend needs one entry per log and key: {len(paths) * len(keys)}, got {len(legend)}')
    with plt.style.context('default'):
        _use_style(plt, style)
        fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4), squeeze=False)
        n = 0
        for log, path in zip(logs, paths):
            for ax, key in zip(axes[0], keys):
                xs, ys, xlabel = _series(log, key)
                if not xs:
                    raise KeyError(f'{path} has no values for {key!r}')
                ax.plot(xs, ys, marker='o' if xlabel == 'epoch' else None, linewidth=0.8, label=legend[n])
                ax.set_xlabel(xlabel)
                ax.set_title(title or key)
                ax.legend()
                n += 1
        fig.tight_layout()
        if out is None:
            # as 2.x: no --out shows the figure; a non-interactive backend cannot
            if matplotlib.get_backend().lower() in ('agg', 'pdf', 'ps', 'svg', 'cairo', 'template'):
                plt.close(fig)
                raise ValueError(f'no --out given and matplotlib backend {matplotlib.get_backend()!r} cannot show '
                                 'a window; pass --out FILE.png (or --backend with a GUI backend)')
            plt.show()
        else:
            fig.savefig(out)
            print(f'save curve to: {out}')
        plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Analyze Json Log')
    sub = p.add_subparsers(dest='task', required=True, help='task parser')
    pc = sub.add_parser('plot_curve', help='parser for plotting curves')
    pc.add_argument('json_logs', type=str, nargs='+', help='path of train log in json format')
    pc.add_argument('--keys', type=str, nargs='+', default=['bbox_mAP'], help='the metric that you want to plot')
    pc.add_argument('--title', type=str, help='title of figure')
    pc.add_argument('--legend', type=str, nargs='+', default=None, help='legend of each plot')
    pc.add_argument('--backend', type=str, default=None, help='backend of plt (default: Agg with --out)')
    pc.add_argument('--style', type=str, default='dark', help='style of plt (seaborn style names)')
    pc.add_argument('--out', type=str, default=None, help='image file to write (without it: show the figure)')
    ct = sub.add_parser('cal_train_time', help='parser for computing the average time per training iteration')
    ct.add_argument('json_logs', type=str, nargs='+', help='path of train log in json format')
    ct.add_argument('--include-outliers', action='store_true',
                    help='include the first value of every epoch when computing the average time')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logs = load_json_logs(args.json_logs)
    if args.task == 'plot_curve':
        try:
            plot_curve(logs, args.json_logs, args.keys, args.out, args.title, args.legend, args.backend, args.style)
        except ValueError as e:
            sys.exit(f'error: {e}')
    else:
        cal_train_time(logs, args.json_logs, args.include_outliers)


if __name__ == '__main__':
    main()
