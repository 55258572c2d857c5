#!/usr/bin/env python
"""Detect objects in a video and write the annotated video.

    python demo/video_demo.py VIDEO CONFIG CKPT --out result.mp4 [--score-thr 0.3] [--batch-size 4] [--show]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402
from tqdm import tqdm  # noqa: E402

from mmdet.apis import inference_detector, init_detector  # noqa: E402
from mmdet.apis.video import FpsMeter, open_video, video_frames, video_writer  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description='Detect objects in a video')
    p.add_argument('video', help='video file or stream URL')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    p.add_argument('--score-thr', type=float, default=0.3, help='bbox score threshold')
    p.add_argument('--out', help='output video file (.mp4)')
    p.add_argument('--show', action='store_true', help='show the frames in a window (needs a display)')
    p.add_argument('--batch-size', type=int, default=1, help='frames per forward pass')
    args = p.parse_args(argv)
    if not (args.out or args.show):
        p.error('say what to do with the result: --out and/or --show')
    model = init_detector(args.config, args.checkpoint, device=args.device)
    cap = open_video(args.video)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    writer, meter, n = None, FpsMeter(), 0
    bar = tqdm(total=total, desc='video', unit='frame', dynamic_ncols=True)
    try:
        for frames in video_frames(cap, args.batch_size):
            results = inference_detector(model, frames)
            for frame, result in zip(frames, results):
                drawn = model.show_result(frame, result, score_thr=args.score_thr)
                if args.out:
                    writer = writer or video_writer(args.out, cap, drawn.shape)
                    writer.write(drawn)
                if args.show:
                    cv2.imshow('video', drawn)
                    if cv2.waitKey(1) & 0xFF == ord('q'):
                        return
            n += len(frames)
            bar.set_postfix(fps=f'{meter.tick(len(frames)):.1f}')
            bar.update(len(frames))
    finally:
        bar.close()
        cap.release()
        if writer is not None:
            writer.release()
    print(f'{n} frames' + (f' written to {args.out}' if args.out else ''))


if __name__ == '__main__':
    main()
