#!/usr/bin/env python
"""Prepare a checkpoint for release: drop the optimizer and training-only state,
append the first 8 hex digits of the file's sha256 to its name.

    python tools/model_converters/publish_model.py work_dirs/vfnet/latest.pth vfnet_r50_1x.pth
    # -> vfnet_r50_1x-<sha8>.pth
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.runner.checkpoint import publish_checkpoint  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Process a checkpoint to be published')
    p.add_argument('in_file', help='input checkpoint filename')
    p.add_argument('out_file', help='output checkpoint filename (the hash is appended)')
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    before = osp.getsize(args.in_file)
    final = publish_checkpoint(args.in_file, args.out_file)
    print(f'{final} ({osp.getsize(final) / 2 ** 20:.1f} MB, was {before / 2 ** 20:.1f} MB)')


if __name__ == '__main__':
    main()
