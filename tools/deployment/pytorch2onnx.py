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

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmdet.apis import init_detector  # noqa: E402
from mmdet.deployment import export_onnx, verify_onnx  # noqa: E402
from mmdet.utils import DictAction  # noqa: E402
from mmdet.utils.cli import load_config, main_guard  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export a detector to ONNX')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file ("none" exports untrained weights, for trying the export)')
    p.add_argument('--output-file', default='tmp.onnx', help='the .onnx file to write')
    p.add_argument('--shape', type=int, nargs=2, default=[800, 1216], metavar=('H', 'W'),
                   help='padded input height and width to trace with (the static size without --dynamic-export)')
    p.add_argument('--dynamic-export', action='store_true', help='free input height and width')
    p.add_argument('--opset', type=int, default=19, help='ONNX opset (>= 18; DeformConv needs 19)')
    p.add_argument('--dcn-mode', choices=['deformconv', 'sampled'], default='deformconv',
                   help='deformable convs as the ONNX DeformConv op, or as GridSample + MatMul (TensorRT)')
    p.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch on --test-img')
    p.add_argument('--test-img', default=osp.join(ROOT, 'demo', 'demo.jpg'), help='image for --verify')
    p.add_argument('--simplify', action='store_true', help='run onnx-simplifier on the result (needs onnxsim)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries, a.b=1')
    return p.parse_args(argv)


@main_guard
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    try:
        model = init_detector(cfg, checkpoint, device='cpu')
        export_onnx(model, args.output_file, tuple(args.shape), args.dynamic_export, args.opset, args.dcn_mode,
                    args.simplify)
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
