"""Detection on video streams: files, cameras, URLs."""
import time

import cv2


def open_video(source):
    """``cv2.VideoCapture`` of a file, a stream URL or a camera index (an int,
    or a string of digits); fails naming the source when nothing opens."""
    src = int(source) if isinstance(source, str) and source.isdigit() else source
    cap = cv2.VideoCapture(src)
    if not cap.isOpened():
        kind = f'camera {src}' if isinstance(src, int) else f"video '{src}'"
        raise FileNotFoundError(f'cannot open {kind}: no such device or file, it is in use, or OpenCV cannot '
                                'decode it (--camera-id also takes a video file or stream URL)')
    return cap


def video_frames(cap, batch_size=1, max_frames=0):
    """Batches (lists) of BGR frames until the stream ends or ``max_frames``."""
    batch, n = [], 0
    while not max_frames or n < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        batch.append(frame)
        n += 1
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def video_writer(path, cap, frame_shape):
    """An mp4v writer with the capture's frame rate (25 if unknown) and frame size."""
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    h, w = frame_shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps if fps > 0 else 25.0, (w, h))
    if not writer.isOpened():
        raise OSError(f'cannot write video {path} (mp4v at {w}x{h})')
    return writer


class FpsMeter:
    """Frames per second over the last ``window`` frames."""

    def __init__(self, window=30):
        self.window, self.stamps = window, []

    def tick(self, n=1):
        now = time.perf_counter()
        self.stamps.extend([now] * n)
        self.stamps = self.stamps[-self.window:]
        span = self.stamps[-1] - self.stamps[0]
        return (len(self.stamps) - 1) / span if span > 0 else 0.0
