#!/usr/bin/env python
"""Detect objects in images and draw them.

    python demo/image_demo.py IMG CONFIG CKPT [--out-file OUT]                  # one image
    python demo/image_demo.py FOLDER|'GLOB'|VIDEO CONFIG CKPT --batch-size 4 [--out-dir outputs]

One image is drawn to ``--out-file`` (default ``<img>_result.jpg``).  A folder, a glob pattern (quoted) or a
video, or any input with ``--out-dir``, goes through :class:`mmdet.apis.DetInferencer`: drawings in
``OUT_DIR/vis/``, predictions as json in ``OUT_DIR/preds/``, and with ``--coco-json`` one COCO results
file.  With ``--backend onnxruntime``, CKPT is a model exported by ``tools/deployment/pytorch2onnx.py``;
pre-processing is the config's test pipeline."""
import os
import os.path as osp
import sys
from argparse import ArgumentParser

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402

from mmdet.apis.det_inferencer import VIDEO_EXTENSIONS, DetInferencer  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


def parse_args(argv=None):
    p = ArgumentParser(description='Detect objects in images (a file, folder, glob or video) and draw them')
    p.add_argument('img', help="image file, folder of images, glob pattern (quoted: 'imgs/*.jpg') or video file")
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file (the .onnx file with --backend onnxruntime)')
    p.add_argument('--device', default='cpu', help='device used for inference, e.g. cpu or cuda:0')
    p.add_argument('--score-thr', type=float, default=0.3, help='bbox score threshold (of the drawn boxes)')
    p.add_argument('--out-file', default=None,
                   help='one image: where to write the drawn result (default: <img>_result.jpg)')
    p.add_argument('--out-dir', default=None,
                   help='folder for vis/ (drawings) and preds/ (json); default for a folder, glob or video: outputs')
    p.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    p.add_argument('--no-save-vis', action='store_true', help='do not write the drawings')
    p.add_argument('--no-save-pred', action='store_true', help='do not write the prediction json files')
    p.add_argument('--coco-json', default=None,
                   help='also write all predictions as one COCO results json (image ids: --image-ids)')
    p.add_argument('--image-ids', default=None,
                   help='a COCO annotation file of the same images: take its image and category ids')
    p.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
                   help='run the checkpoint with PyTorch, or an exported .onnx with onnxruntime')
    p.add_argument('--slice', nargs=2, type=int, default=None, metavar=('W', 'H'),
                   help='sliced inference for large images: tiles of W x H pixels, merged into one result')
    p.add_argument('--overlap', type=float, default=0.2, help='with --slice: share of a tile its neighbour overlaps')
    args = p.parse_args(argv)
    if args.slice and args.backend == 'onnxruntime':
        p.error('--slice needs --backend pytorch')
    if not 0 <= args.overlap < 1:
        p.error(f'--overlap must be in [0, 1), got {args.overlap}')
    if args.batch_size < 1:
        p.error(f'--batch-size must be at least 1, got {args.batch_size}')
    is_onnx = args.checkpoint.lower().endswith('.onnx')
    if is_onnx != (args.backend == 'onnxruntime'):
        p.error('an .onnx checkpoint runs with --backend onnxruntime, and --backend onnxruntime takes an .onnx file')
    args.one_image = (osp.isfile(args.img) and not args.img.lower().endswith(VIDEO_EXTENSIONS)
                      and args.out_dir is None)
    if args.out_file and not args.one_image:
        p.error('--out-file is for one image; for a folder, glob or video use --out-dir')
    return args


@main_guard
def main(argv=None):
    args = parse_args(argv)
    try:
        if args.backend == 'onnxruntime':
            inferencer = DetInferencer(model=args.checkpoint, config=args.config)
        else:
            inferencer = DetInferencer(model=args.config, weights=args.checkpoint, device=args.device)
    except ImportError as e:
        sys.exit(f'error: {e}')
    thr = args.score_thr
    if args.one_image:
        out = args.out_file or osp.splitext(args.img)[0] + '_result.jpg'
        res = inferencer(args.img, pred_score_thr=thr, return_vis=True, coco_json=args.coco_json,
                         image_ids=args.image_ids, slice_size=args.slice, overlap=args.overlap)
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        if not cv2.imwrite(out, res['visualization'][0]):
            raise OSError(f'could not write {out} (an image file name: .jpg, .png, ...)')
        n = sum(s > thr for s in res['predictions'][0]['scores'])
        print(f'{n} detections above {thr} drawn to {out}')
        return
    out_dir = args.out_dir or 'outputs'
    res = inferencer(args.img, batch_size=args.batch_size, out_dir=out_dir, pred_score_thr=thr,
                     no_save_vis=args.no_save_vis, no_save_pred=args.no_save_pred, coco_json=args.coco_json,
                     image_ids=args.image_ids, slice_size=args.slice, overlap=args.overlap)
    preds = res['predictions']
    n = sum(s > thr for p in preds for s in p['scores'])
    done = [f'drawn to {osp.join(out_dir, "vis")}'] if not args.no_save_vis else []
    done += [f'predictions in {osp.join(out_dir, "preds")}'] if not args.no_save_pred else []
    done += [f'COCO results in {args.coco_json}'] if args.coco_json else []
    print(f'{len(preds)} images, {n} detections above {thr}' + (': ' + ', '.join(done) if done else ''))


if __name__ == '__main__':
    main()
