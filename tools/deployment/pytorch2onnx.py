#!/usr/bin/env python
"""Export a detector to ONNX, the whole of it: backbone, neck, head, decoding and NMS.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --output-file vfnet.onnx \\
        [--shape 800 1216] [--dynamic-export] [--opset 19] [--dcn-mode deformconv|sampled] [--verify]

Inputs of the graph: ``input`` (1, 3, H, W) after the config's test pipeline,
``img_shape`` (h, w) of the resized image inside the padding and ``scale_factor``
(4,); outputs ``dets`` (N, 5) in original-image pixels and ``labels`` (N,).
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import init_detector  # noqa: E402
from mmdet.deployment import export_onnx, verify_onnx  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


# MMDetection 2.x's defaults of the options whose effect differs here
DEFAULT_MEAN, DEFAULT_STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export a detector to ONNX')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file ("none" exports untrained weights, for trying the export)')
    p.add_argument('--input-img', type=str, help='image for --verify when --test-img is not given '
                   '(2.x traced with it; the graph does not depend on the image)')
    p.add_argument('--show', action='store_true', help='print the exported ONNX graph')
    p.add_argument('--output-file', type=str, default='tmp.onnx', help='the .onnx file to write')
    p.add_argument('--opset', type=int, default=19, help='ONNX opset (>= 18; DeformConv needs 19)')
    p.add_argument('--opset-version', type=int, default=None,
                   help='2.x spelling of --opset; 2.x\'s only value, 11, is too old for this exporter and '
                        'becomes 19 with a warning')
    p.add_argument('--test-img', type=str, default=None, help='image for --verify (default: --input-img, '
                   'else demo/demo.jpg)')
    p.add_argument('--dataset', type=str, default='coco',
                   help='(accepted; 2.x named the classes for --show with it, class names come from the '
                        'checkpoint here)')
    p.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch on --test-img')
    p.add_argument('--simplify', action='store_true', help='run onnx-simplifier on the result (needs onnxsim)')
    p.add_argument('--no-optimize', action='store_true',
                   help="skip onnxscript's graph optimizer (a faster export of a larger graph, same detections)")
    p.add_argument('--shape', type=int, nargs='+', default=[800, 1216],
                   help='padded input H W (one value: square) to trace with (the static size without '
                        '--dynamic-export)')
    p.add_argument('--mean', type=float, nargs='+', default=None,
                   help='(accepted; pre-processing, normalisation included, is the config\'s test pipeline)')
    p.add_argument('--std', type=float, nargs='+', default=None,
                   help='(accepted; pre-processing, normalisation included, is the config\'s test pipeline)')
    p.add_argument('--dynamic-export', action='store_true', help='free input height and width')
    p.add_argument('--dcn-mode', choices=['deformconv', 'sampled'], default='deformconv',
                   help='deformable convs as the ONNX DeformConv op, or as GridSample + MatMul (TensorRT)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    args = p.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = [args.shape[0], args.shape[0]]
    elif len(args.shape) != 2:
        p.error('--shape takes H W or one size')
    if args.opset_version is not None:
        if args.opset_version < 18:
            warnings.warn(f'--opset-version {args.opset_version}: the exported NMS and grid sampling need opset '
                          '>= 18 and DeformConv 19; exporting with opset 19')
            args.opset_version = 19
        args.opset = args.opset_version
    for name, default in (('mean', DEFAULT_MEAN), ('std', DEFAULT_STD)):
        value = getattr(args, name)
        if value is not None and len(value) != 3:
            p.error(f'--{name} takes 3 values')
        args.__dict__[f'{name}_given'] = value is not None
        if value is None:
            setattr(args, name, list(default))
    if args.test_img is None:
        args.test_img = args.input_img or osp.join(ROOT, 'demo', 'demo.jpg')
    return args


def _config_norm(cfg):
    """``(mean, std)`` of the first Normalize step of the config's test pipeline, or None."""
    def find(steps):
        for step in steps or []:
            if step.get('type') == 'Normalize':
                return list(step['mean']), list(step['std'])
            found = find(step.get('transforms'))
            if found:
                return found
        return None
    return find(cfg.get('data', {}).get('test', {}).get('pipeline'))


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if args.mean_given or args.std_given:
        norm = _config_norm(cfg)
        if norm is None or [round(v, 4) for v in norm[0]] != [round(v, 4) for v in args.mean] or \
                [round(v, 4) for v in norm[1]] != [round(v, 4) for v in args.std]:
            warnings.warn(f'--mean/--std {args.mean} / {args.std} are not used: the graph takes the image after the '
                          f'config\'s test pipeline, which normalises with {norm}')
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    try:
        model = init_detector(cfg, checkpoint, device='cpu')
        if args.verify and not args.dynamic_export:
            # 2.x resized --input-img to --shape; here the test pipeline sizes the image, so a static
            # graph can only take images that come out of it at --shape
            from mmdet.apis.inference import prepare_test_data
            from mmdet.parallel import unwrap
            got = list(unwrap(prepare_test_data(model.cfg, args.test_img))['img'][0].shape[-2:])
            if got != list(args.shape):
                raise ValueError(f'--verify: {args.test_img} is {got[0]}x{got[1]} after the config\'s test pipeline, '
                                 f'but a static graph of --shape {args.shape[0]} {args.shape[1]} takes only that '
                                 f'size; pass --shape {got[0]} {got[1]} or --dynamic-export')
        export_onnx(model, args.output_file, tuple(args.shape), args.dynamic_export, args.opset, args.dcn_mode,
                    args.simplify, optimize=not args.no_optimize)
        if args.show:
            import onnx
            graph = onnx.load(args.output_file)
            print(onnx.printer.to_text(graph) if hasattr(onnx, 'printer') else onnx.helper.printable_graph(graph.graph))
        if args.verify:
            ok, msg = verify_onnx(model, args.output_file, model.cfg, args.test_img)
            print(f"verify on {args.test_img}: {'OK' if ok else 'MISMATCH'} - {msg}")
            if not ok:
                sys.exit(2)
    except (ImportError, NotImplementedError, ValueError) as e:
        sys.stderr.write(f'error: {e}\n')
        sys.exit(1)


if __name__ == '__main__':
    main()
