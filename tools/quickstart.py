#!/usr/bin/env python
"""VFNet end to end on the CPU in one command, with data the project makes itself.

    python tools/quickstart.py [--long] [--work-dir work_dirs/quickstart] [--data-dir data/shapes]

1. generates the shapes dataset (COCO format) if it is not there,
2. trains ``configs/shapes/vfnet_r18_fpn_shapes_fast.py`` (8 epochs, about 4.5 min on 2 cores; ``--long``:
   ``configs/shapes/vfnet_r18_fpn_shapes.py``, 16 epochs, the better model) with ``tools/train.py``,
3. evaluates the final checkpoint with ``tools/test.py --eval bbox``,
4. draws the detections on a val image with ``demo/image_demo.py``,
5. plots the loss and mAP curves from the json log.
"""
import argparse
import glob
import os
import os.path as osp
import re
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'shapes', 'vfnet_r18_fpn_shapes_fast.py')
LONG_CONFIG = osp.join(ROOT, 'configs', 'shapes', 'vfnet_r18_fpn_shapes.py')


def step(title):
    print(f'\n=== {title} ===', flush=True)


def run(args, capture=False):
    cmd = [sys.executable, *map(str, args)]
    print('$ ' + ' '.join(osp.relpath(c, ROOT) if osp.isabs(str(c)) and str(c).startswith(ROOT) else str(c)
                          for c in cmd[1:]), flush=True)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    if not capture:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        return ''
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    sys.stdout.write(out.stdout)
    return out.stdout


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'quickstart'))
    p.add_argument('--data-dir', default=osp.join(ROOT, 'data', 'shapes'))
    p.add_argument('--config', default=None, help=f'the config to train (default: {osp.relpath(CONFIG, ROOT)})')
    p.add_argument('--long', action='store_true',
                   help=f'train the 16-epoch {osp.relpath(LONG_CONFIG, ROOT)} (a better model, 3-4x longer)')
    p.add_argument('--epochs', type=int, help='override the schedule length (for a faster look)')
    args = p.parse_args(argv)
    if args.long and args.config:
        p.error('--long picks the config: give --long or --config, not both')
    args.config = args.config or (LONG_CONFIG if args.long else CONFIG)
    t0 = time.time()
    data_dir = osp.abspath(args.data_dir)
    work_dir = osp.abspath(args.work_dir)

    step('1/5 dataset')
    if osp.isfile(osp.join(data_dir, 'annotations', 'instances_val.json')):
        print(f'using the existing dataset in {data_dir}')
    else:
        run([osp.join(ROOT, 'tools', 'misc', 'make_shapes_dataset.py'), data_dir])
    d = data_dir + '/'
    opts = [f'data.{s}.{k}={d}{v}' for s in ('train', 'val', 'test') for k, v in
            (('ann_file', f'annotations/instances_{"train" if s == "train" else "val"}.json'),
             ('img_prefix', 'train/' if s == 'train' else 'val/'))]
    if args.epochs:
        opts.append(f'runner.max_epochs={args.epochs}')

    step('2/5 train')
    run([osp.join(ROOT, 'tools', 'train.py'), args.config, '--work-dir', work_dir, '--seed', '0',
         '--cfg-options', *opts])
    ckpt = osp.join(work_dir, 'latest.pth')

    step('3/5 evaluate')
    out = run([osp.join(ROOT, 'tools', 'test.py'), args.config, ckpt, '--eval', 'bbox', '--cfg-options', *opts],
              capture=True)
    m = re.search(r"'bbox_mAP': ([0-9.]+)", out)
    bbox_map = float(m.group(1)) if m else float('nan')

    step('4/5 demo')
    img = sorted(glob.glob(osp.join(data_dir, 'val', '*.jpg')))[0]
    result = osp.join(work_dir, 'demo_result.jpg')
    run([osp.join(ROOT, 'demo', 'image_demo.py'), img, args.config, ckpt, '--score-thr', '0.3', '--out-file', result])

    step('5/5 curves')
    log = sorted(glob.glob(osp.join(work_dir, '*.log.json')))[-1]
    curves = osp.join(work_dir, 'curves.png')
    run([osp.join(ROOT, 'tools', 'analysis_tools', 'analyze_logs.py'), 'plot_curve', log, '--keys', 'loss',
         'bbox_mAP', '--out', curves])

    print(f'\nquickstart finished in {time.time() - t0:.0f} s')
    print(f'bbox_mAP: {bbox_map:.3f} on {len(glob.glob(osp.join(data_dir, "val", "*.jpg")))} val images')
    print(f'checkpoint: {ckpt}\nresult image: {result}\ncurves: {curves}')


if __name__ == '__main__':
    main()
