#!/usr/bin/env python
"""Plot curves or compute training time from ``*.log.json`` files.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json --keys loss bbox_mAP --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json
"""
import argparse
import json
from collections import defaultdict

import numpy as np


def load_json_logs(paths):
    """Per file: {epoch: {key: [values...]}} (train entries, then val entries)."""
    out = []
    for path in paths:
        by_epoch = defaultdict(lambda: defaultdict(list))
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                if 'epoch' not in rec:
                    continue
                epoch = rec.pop('epoch')
                for k, v in rec.items():
                    by_epoch[epoch][k].append(v)
        out.append(by_epoch)
    return out


def cal_train_time(logs, paths, include_outliers=False):
    for log, path in zip(logs, paths):
        print(f'{"-" * 5}Analyze train time of {path}{"-" * 5}')
        times = [np.array(v['time']) for v in log.values() if 'time' in v]
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


def plot_curve(logs, paths, keys, out=None, title=None, legend=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    legend = legend or [f'{p}_{k}' for p in paths for k in keys]
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4), squeeze=False)
    n = 0
    for log, path in zip(logs, paths):
        epochs = sorted(log)
        for ax, key in zip(axes[0], keys):
            if all(key not in log[e] for e in epochs):
                raise KeyError(f'{path} has no key {key!r} (keys: {sorted({k for e in epochs for k in log[e]})})')
            if any('mAP' in key or key.startswith('swa_') for _ in [0]) and \
                    all(len(log[e].get(key, [])) <= 1 for e in epochs):
                xs = [e for e in epochs if key in log[e]]
                ys = [log[e][key][0] for e in xs]
                ax.plot(xs, ys, marker='o', label=legend[n])
                ax.set_xlabel('epoch')
            else:
                xs, ys = [], []
                iters_per_epoch = max(max(log[e].get('iter', [0])) for e in epochs) or 1
                for e in epochs:
                    rec = log[e]
                    modes = rec.get('mode', ['train'] * len(rec[key]))
                    for it, mode, v in zip(rec.get('iter', []), modes, rec.get(key, [])):
                        if mode == 'train':
                            xs.append((e - 1) * iters_per_epoch + it)
                            ys.append(v)
                ax.plot(xs, ys, label=legend[n], linewidth=0.8)
                ax.set_xlabel('iter')
            ax.set_title(title or key)
            ax.legend()
            n += 1
    fig.tight_layout()
    if out is None:
        raise ValueError('--out is required (no display available)')
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
