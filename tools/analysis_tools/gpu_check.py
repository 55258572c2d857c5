#!/usr/bin/env python
"""Every CUDA path in one command, with the seed's speed table measured (about 8 minutes on one GPU):

    python tools/analysis_tools/gpu_check.py [--out docs/gpu_check.json] [--parts pytest training ...]
    python tools/analysis_tools/gpu_check.py --dry-run      # the same code on the CPU at tiny sizes

Parts: ``pytest`` (tests/test_cuda), ``training`` (VFNet-R50, mdconv, VFNet-X steps in fp32 / fp16 /
bf16 at 2x3x800x1344), ``inference`` (the seed table's models, fps in fp32, TF32, fp16, bf16,
channels-last, torch.compile, beside the seed's V100 numbers), ``distributed`` (tools/dist_train.sh with
NCCL, then tools/dist_test.sh --eval bbox) and ``onnx`` (onnxruntime, CUDA provider with onnxruntime-gpu).
Prints one markdown table; writes the rows as json with ``--out``.  Exit code 1 when a row failed.
Code: mmdet/utils/gpu_check.py."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.utils import gpu_check  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--dry-run', action='store_true', help='CPU, tiny inputs, one model per part')
    p.add_argument('--parts', nargs='+', default=['pytest', 'training', 'distributed', 'onnx', 'inference'],
                   choices=['pytest', 'training', 'inference', 'distributed', 'onnx'])
    p.add_argument('--device', default=None, help='default: cuda (cpu with --dry-run)')
    p.add_argument('--models', nargs='+', default=None,
                   help=f'inference rows to time (default all): {", ".join(m[0] for m in gpu_check.SEED_FPS)}')
    p.add_argument('--modes', nargs='+', default=None, choices=list(gpu_check.INFER_MODES),
                   help='inference modes (default all; fp32 fp16 with --dry-run)')
    p.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    p.add_argument('--seconds', type=float, default=1.0, help='timed seconds per inference row')
    p.add_argument('--budget', type=float, default=450,
                   help='seconds after which the remaining inference rows are skipped (default 450)')
    p.add_argument('--work-dir', default=None, help='exported model, generated data, dist runs (default: a temp dir)')
    p.add_argument('--out', default=None, help='write the report as json here')
    p.add_argument('--md-out', default=None, help='write the markdown table here')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    unknown = set(args.models or []) - {m[0] for m in gpu_check.SEED_FPS}
    if unknown:
        sys.exit(f'error: --models: unknown row(s) {sorted(unknown)}')
    report = gpu_check.run_check(parts=args.parts, device=args.device, dry_run=args.dry_run, work_dir=args.work_dir,
                                 inference_models=args.models, inference_modes=args.modes,
                                 batches=tuple(args.batch_sizes), min_seconds=args.seconds,
                                 budget_s=args.budget)
    table = gpu_check.markdown(report)
    print('\n' + table)
    if args.out:
        gpu_check.write_json(report, args.out)
    if args.md_out:
        with open(args.md_out, 'w') as f:
            f.write(table + '\n')
    return 1 if any(r['status'] == 'FAIL' for r in report['rows']) else 0


if __name__ == '__main__':
    sys.exit(main())
