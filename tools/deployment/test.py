#!/usr/bin/env python
"""Evaluate an exported ONNX detector on the config's test set with onnxruntime.

    python tools/deployment/test.py CONFIG MODEL.onnx --eval bbox [--out results.pkl]

Pre-processing is the config's test pipeline, so the numbers are comparable
with ``tools/test.py CONFIG CHECKPOINT --eval bbox`` of the PyTorch model.
"""
import argparse
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset  # noqa: E402
from mmdet.deployment import onnx_dataset_test  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Evaluate an ONNX detector with onnxruntime')
    p.add_argument('config', help='config file the model was exported from')
    p.add_argument('model', help='the .onnx file')
    p.add_argument('--out', help='write the results to this .pkl file')
    p.add_argument('--format-only', action='store_true', help='only write the result files (e.g. for a server)')
    p.add_argument('--eval', type=str, nargs='+', help='metrics, e.g. "bbox"')
    p.add_argument('--threads', type=int, default=0, help='onnxruntime intra-op threads (0: its default)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    p.add_argument('--eval-options', nargs='+', action=DictAction, help='e.g. classwise=True')
    args = p.parse_args(argv)
    if not (args.out or args.eval or args.format_only):
        p.error('say what to do with the results: --out, --eval or --format-only')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    try:
        outputs = onnx_dataset_test(args.model, cfg, dataset, args.threads)
    except ImportError as e:
        sys.stderr.write(f'error: {e}\n')
        sys.exit(1)
    if args.out:
        with open(args.out, 'wb') as f:
            pickle.dump(outputs, f)
        print(f'results written to {args.out}')
    kwargs = args.eval_options or {}
    if args.format_only:
        files, _ = dataset.format_results(outputs, **kwargs)
        print(f'result files: {files}')
    if args.eval:
        print(dataset.evaluate(outputs, metric=args.eval if len(args.eval) > 1 else args.eval[0], **kwargs))


if __name__ == '__main__':
    main()
