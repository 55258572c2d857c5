#!/usr/bin/env python
"""Live detection from a camera (or any stream OpenCV opens).

    python demo/webcam_demo.py CONFIG CKPT [--camera-id 0] [--score-thr 0.5] [--out live.mp4] [--max-frames N]

``--camera-id`` is a camera index, a video file or a stream URL.  Frames are
shown in a window (press q or Esc to quit) when a display is available, and
written to ``--out`` when given.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import cv2  # noqa: E402

from mmdet.apis import inference_detector, init_detector  # noqa: E402
from mmdet.apis.video import FpsMeter, open_video, video_frames, video_writer  # noqa: E402
from mmdet.utils.cli import main_guard  # noqa: E402


@main_guard
def main(argv=None):
    p = argparse.ArgumentParser(description='Live detection from a camera or stream')
    p.add_argument('config', help='config file')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    p.add_argument('--camera-id', default='0', help='camera index, video file or stream URL')
    p.add_argument('--score-thr', type=float, default=0.5, help='bbox score threshold')
    p.add_argument('--out', help='also write the annotated stream to this video file')
    p.add_argument('--max-frames', type=int, default=0, help='stop after this many frames (0: until the end)')
    p.add_argument('--no-show', action='store_true', help='do not open a window')
    args = p.parse_args(argv)
    show = not args.no_show and bool(os.environ.get('DISPLAY') or os.name == 'nt')
    if not show and not args.out:
        p.error('no display to show the frames on: give --out FILE (or run with a display)')
    cap = open_video(args.camera_id)
    model = init_detector(args.config, args.checkpoint, device=args.device)
    writer, meter, n = None, FpsMeter(), 0
    try:
        for (frame,) in video_frames(cap, 1, args.max_frames):
            result = inference_detector(model, frame)
            drawn = model.show_result(frame, result, score_thr=args.score_thr)
            fps = meter.tick()
            cv2.putText(drawn, f'{fps:.1f} fps', (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
            if args.out:
                writer = writer or video_writer(args.out, cap, drawn.shape)
                writer.write(drawn)
            if show:
                cv2.imshow('webcam', drawn)
                if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                    break
            n += 1
            found = sum(int((r[:, 4] > args.score_thr).sum()) for r in result)
            print(f'frame {n}: {found} detections, {fps:.1f} fps', flush=True)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    print(f'{n} frames' + (f' written to {args.out}' if args.out else ''))


if __name__ == '__main__':
    main()
