#!/usr/bin/env python
"""Print the fully merged config: ``python tools/misc/print_config.py CONFIG``."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Print the whole config')
    p.add_argument('config', help='config file path')
    # 2.x (2.10) named it --options, not deprecated there; --cfg-options as in the other tools
    p.add_argument('--cfg-options', '--options', nargs='+', action=DictAction, dest='cfg_options',
                   help='override config entries, a.b=1 (arguments in dict)')
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')


if __name__ == '__main__':
    main()
