#!/usr/bin/env python
"""Train several configs one after another and print one table of what each reached:

    python tools/analysis_tools/compare_recipes.py configs/shapes/vfnet_r18_fpn_shapes_fast.py \
        configs/shapes/recipes/*.py --work-dir work_dirs/recipes [--seed 0] [--metric bbox_mAP] \
        [--out recipes.json] [--cfg-options ...]

Each config runs ``tools/train.py CONFIG --work-dir WORK_DIR/<name> --seed SEED`` in its own process
(its validation as the config sets it); the table has the wall time of that process and the last
value of ``--metric`` in its json log.  Runs are sequential so their times compare on an otherwise
idle machine."""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def last_metric(work_dir, metric):
    """The last ``metric`` value in the newest ``*.log.json`` of ``work_dir`` (None when never logged)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*.log.json')))
    if not logs:
        return None
    value = None
    with open(logs[-1]) as f:
        for line in f:
            rec = json.loads(line)
            if metric in rec:
                value = rec[metric]
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('configs', nargs='+', help='config files, trained in this order')
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'recipes'),
                   help='each config trains in WORK_DIR/<config name>')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--metric', default='bbox_mAP', help='the logged value the table shows')
    p.add_argument('--out', help='also write the rows as json here')
    p.add_argument('--cfg-options', nargs='+', default=[], help='passed to every tools/train.py run')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    missing = [c for c in args.configs if not osp.isfile(c)]
    if missing:
        sys.exit(f'error: no such config: {", ".join(missing)}')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    rows = []
    for cfg in args.configs:
        name = osp.splitext(osp.basename(cfg))[0]
        work_dir = osp.join(args.work_dir, name)
        cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', work_dir,
               '--seed', str(args.seed)] + (['--cfg-options', *args.cfg_options] if args.cfg_options else [])
        print('$ ' + ' '.join(cmd[1:]), flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, env=env).returncode
        seconds = time.perf_counter() - t0
        rows.append(dict(config=cfg, seconds=round(seconds, 1), returncode=rc,
                         **{args.metric: last_metric(work_dir, args.metric)}))
        print(f'{cfg}: {seconds:.0f} s, {args.metric} {rows[-1][args.metric]}', flush=True)
    print(f'\n| config | wall time | {args.metric} |\n|---|---|---|')
    for r in rows:
        value = 'failed' if r['returncode'] else r[args.metric]
        print(f'| `{r["config"]}` | {r["seconds"]:.0f} s | '
              f'{value if isinstance(value, str) or value is None else f"{value:.3f}"} |')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)
    return 1 if any(r['returncode'] for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
