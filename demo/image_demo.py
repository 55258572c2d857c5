#!/usr/bin/env python
"""Detect objects in one image: ``python demo/image_demo.py IMG CONFIG CKPT [--out-file OUT]``.

With ``--backend onnxruntime``, CKPT is a model exported by
``tools/deployment/pytorch2onnx.py``; pre-processing is the config's test pipeline."""
import os.path as osp
import sys
from argparse import ArgumentParser

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdet.apis import inference_detector, init_detector, show_result  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


@main_guard
def main(argv=None):
    p = ArgumentParser(description='Detect objects in an image and draw them')
    p.add_argument('img', help='image file')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file (the .onnx file with --backend onnxruntime)')
    p.add_argument('--device', default='cpu', help='device used for inference, e.g. cpu or cuda:0')
    p.add_argument('--score-thr', type=float, default=0.3, help='bbox score threshold')
    p.add_argument('--out-file', default=None, help='where to write the drawn result (default: <img>_result.jpg)')
    p.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
                   help='run the checkpoint with PyTorch, or an exported .onnx with onnxruntime')
    args = p.parse_args(argv)
    out = args.out_file or osp.splitext(args.img)[0] + '_result.jpg'
    if args.backend == 'onnxruntime':
        from mmdet.deployment import ONNXRuntimeDetector
        try:
            model = ONNXRuntimeDetector(args.checkpoint, args.config)
        except ImportError as e:
            sys.exit(f'error: {e}')
        result = model.inference(args.img)
        model.show_result(args.img, result, score_thr=args.score_thr, out_file=out)
    else:
        model = init_detector(args.config, args.checkpoint, device=args.device)
        result = inference_detector(model, args.img)
        show_result(model, args.img, result, score_thr=args.score_thr, out_file=out)
    n = sum(int((r[:, 4] > args.score_thr).sum()) for r in result)
    print(f'{n} detections above {args.score_thr} drawn to {out}')


if __name__ == '__main__':
    main()
