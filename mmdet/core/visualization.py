"""Drawing detections on images (OpenCV, no display needed)."""
import os
import os.path as osp

import cv2
import numpy as np


def _palette(n):
    rng = np.random.RandomState(42)
    return [tuple(int(c) for c in rng.randint(40, 255, 3)) for _ in range(n)]


def imshow_det_bboxes(img, bboxes, labels, class_names=None, score_thr=0, thickness=2, font_scale=0.5,
                      show=False, out_file=None):
    """Draw (n, 4|5) ``bboxes`` with ``labels``; write to ``out_file`` and/or return the image."""
    img = cv2.imread(img) if isinstance(img, str) else np.ascontiguousarray(img).copy()
    if img is None:
        raise FileNotFoundError('image to draw on could not be read')
    if bboxes.shape[0] and bboxes.shape[1] == 5 and score_thr > 0:
        keep = bboxes[:, -1] > score_thr
        bboxes, labels = bboxes[keep], labels[keep]
    colors = _palette(max(len(class_names or []), int(labels.max()) + 1 if len(labels) else 1))
    for box, label in zip(bboxes, labels):
        x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
        color = colors[int(label)]
        cv2.rectangle(img, (x1, y1), (x2, y2), color, thickness)
        text = class_names[label] if class_names is not None else f'cls {label}'
        if len(box) > 4:
            text += f'|{box[-1]:.02f}'
        cv2.putText(img, text, (x1, max(y1 - 2, 10)), cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, 1, cv2.LINE_AA)
    if show:
        raise RuntimeError('show=True needs a display; use out_file= to write the drawing instead')
    if out_file is not None:
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        if not cv2.imwrite(out_file, img):
            raise OSError(f'could not write {out_file}')
    return img
