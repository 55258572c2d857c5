#!/usr/bin/env python
"""Evaluate saved results without running the model again.

    python tools/analysis_tools/eval_metric.py CONFIG RESULTS.pkl --eval bbox [--eval-options classwise=True]
    python tools/analysis_tools/eval_metric.py CONFIG RESULTS.pkl --format-only --eval-options jsonfile_prefix=res

RESULTS.pkl is what ``tools/test.py CONFIG CKPT --out RESULTS.pkl`` wrote.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import build_test_dataset, load_results  # noqa: E402
from mmdet.core.evaluation.eval_hooks import EVAL_HOOK_KEYS  # noqa: E402  (the hook's own keys)
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402


# the keys of the config's ``evaluation`` that configure the EvalHook, not dataset.evaluate()
def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Evaluate metric of the results saved in pkl format')
    p.add_argument('config', help='the config the results were made with')
    p.add_argument('pkl_results', help='results from tools/test.py --out')
    p.add_argument('--format-only', action='store_true',
                   help='only write the result files (e.g. for the test server), no evaluation')
    p.add_argument('--eval', type=str, nargs='+', help='metrics, e.g. "bbox" or "mAP"')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    p.add_argument('--eval-options', nargs='+', action=DictAction, help='e.g. classwise=True')
    args = p.parse_args(argv)
    if not (args.eval or args.format_only):
        p.error('say what to do with the results: --eval METRIC or --format-only')
    if args.eval and args.format_only:
        p.error('--eval and --format-only cannot be both specified')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_test_dataset(cfg)
    results = load_results(args.pkl_results, dataset)
    kwargs = args.eval_options or {}
    if args.format_only:
        files, _ = dataset.format_results(results, **kwargs)
        print(f'result files: {files}')
    if args.eval:
        # as 2.x: the config's evaluation options (less the hook's own), then --eval and --eval-options
        eval_kwargs = {k: v for k, v in dict(cfg.get('evaluation') or {}).items() if k not in EVAL_HOOK_KEYS}
        eval_kwargs['metric'] = args.eval if len(args.eval) > 1 else args.eval[0]
        eval_kwargs.update(kwargs)
        print(dataset.evaluate(results, **eval_kwargs))

if __name__ == '__main__':
    main()
