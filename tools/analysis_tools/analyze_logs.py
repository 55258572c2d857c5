#!/usr/bin/env python
"""Plot curves or compute training time from ``*.log.json`` files.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json --keys loss bbox_mAP --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json
"""
import argparse
import json
import os.path as osp
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


def plot_curve(logs, paths, keys, out=None, title=None, legend=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if out is None:
        raise ValueError('--out is required (no display available)')
    legend = legend or [f'{osp.basename(p)} {k}' for p in paths for k in keys]
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
    fig.savefig(out)
    plt.close(fig)
    print(f'save curve to: {out}')


def main(argv=None):
    p = argparse.ArgumentParser(description='Analyze json logs')
    sub = p.add_subparsers(dest='task', required=True)
    pc = sub.add_parser('plot_curve', help='plot curves of given keys')
    pc.add_argument('json_logs', nargs='+')
    pc.add_argument('--keys', nargs='+', default=['bbox_mAP'])
    pc.add_argument('--title')
    pc.add_argument('--legend', nargs='+')
    pc.add_argument('--backend', help='(ignored; always writes a file)')
    pc.add_argument('--style', help='(ignored)')
    pc.add_argument('--out', required=True)
    ct = sub.add_parser('cal_train_time', help='compute the average time per training iteration')
    ct.add_argument('json_logs', nargs='+')
    ct.add_argument('--include-outliers', action='store_true')
    args = p.parse_args(argv)
    logs = load_json_logs(args.json_logs)
    if args.task == 'plot_curve':
        plot_curve(logs, args.json_logs, args.keys, args.out, args.title, args.legend)
    else:
        cal_train_time(logs, args.json_logs, args.include_outliers)


if __name__ == '__main__':
    main()
