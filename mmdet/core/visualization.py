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


def imshow_gt_det_bboxes(img, gt_bboxes, gt_labels, result, class_names=None, score_thr=0.3, out_file=None,
                         gt_color=(0, 200, 0)):
    """Ground truth (boxes of ``gt_color``, labelled ``GT name``) and a 2.x
    ``result`` (per class (k, 5)) drawn on one image."""
    dets = np.vstack(result) if len(result) else np.zeros((0, 5), np.float32)
    labels = np.concatenate([np.full(len(r), i, dtype=np.int64) for i, r in enumerate(result)]) \
        if len(result) else np.zeros(0, np.int64)
    drawn = imshow_det_bboxes(img, dets, labels, class_names=class_names, score_thr=score_thr)
    for box, label in zip(np.asarray(gt_bboxes).reshape(-1, 4), np.asarray(gt_labels).reshape(-1)):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(drawn, (x1, y1), (x2, y2), gt_color, 1)
        name = class_names[int(label)] if class_names is not None else f'cls {int(label)}'
        cv2.putText(drawn, f'GT {name}', (x1, min(y2 + 12, drawn.shape[0] - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    gt_color, 1, cv2.LINE_AA)
    if out_file is not None:
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        if not cv2.imwrite(out_file, drawn):
            raise OSError(f'could not write {out_file}')
    return drawn
