"""A small, deterministic, real-looking detection dataset in COCO format.

Filled and outlined shapes (ellipses, rectangles, triangles) of varied size,
colour, aspect and partial overlap, on textured backgrounds (colour gradients,
noise, stripes and clutter).  Everything follows from ``seed``, so the files
are byte-identical on every machine.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np

SHAPE_CLASSES = ('ellipse', 'rectangle', 'triangle')


def _background(rng, h, w):
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w)[None, :, None] if rng.random() < 0.5 else np.linspace(0, 1, h)[:, None, None]
    img = (c0 * (1 - t) + c1 * t) * np.ones((h, w, 1))
    img += rng.normal(0, rng.uniform(4, 18), (h, w, 3))
    if rng.random() < 0.5:  # stripes
        period = rng.uniform(6, 30)
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[:h, :w]
        img += 18 * np.sin((xx * np.cos(ang) + yy * np.sin(ang)) * 2 * np.pi / period)[..., None]
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(2, 8)):  # clutter lines that are not objects
        p1 = tuple(int(v) for v in (rng.integers(0, w), rng.integers(0, h)))
        p2 = tuple(int(v) for v in (rng.integers(0, w), rng.integers(0, h)))
        cv2.line(img, p1, p2, tuple(int(v) for v in rng.integers(0, 256, 3)), int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def _max_ioa(a, b):
    """The larger share of either box covered by their intersection."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return max(inter / ((a[2] - a[0]) * (a[3] - a[1])), inter / ((b[2] - b[0]) * (b[3] - b[1])))


def _draw(rng, img, label, box):
    x1, y1, x2, y2 = box
    color = tuple(int(v) for v in rng.integers(0, 256, 3))
    thickness = -1 if rng.random() < 0.75 else int(rng.integers(3, 6))
    if label == 0:
        cv2.ellipse(img, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, color,
                    thickness, cv2.LINE_AA)
    elif label == 1:
        cv2.rectangle(img, (x1, y1), (x2 - 1, y2 - 1), color, thickness, cv2.LINE_AA)
    else:
        apex = int(rng.uniform(x1, x2))
        pts = np.array([[apex, y1], [x2 - 1, y2 - 1], [x1, y2 - 1]], np.int32)
        if thickness < 0:
            cv2.fillPoly(img, [pts], color, cv2.LINE_AA)
        else:
            cv2.polylines(img, [pts], True, color, thickness, cv2.LINE_AA)


def make_image(rng, size_range=((192, 320), (256, 416)), max_objects=5, min_obj=20, max_obj_frac=0.6):
    """One image (BGR uint8) with its boxes (x1, y1, x2, y2) and labels."""
    h = int(rng.integers(*size_range[0]))
    w = int(rng.integers(*size_range[1]))
    img = _background(rng, h, w)
    boxes, labels = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            s = rng.uniform(min_obj, max_obj_frac * min(h, w))
            aspect = np.exp(rng.uniform(-0.5, 0.5))
            bw, bh = int(s * np.sqrt(aspect)), int(s / np.sqrt(aspect))
            if bw < min_obj // 2 or bh < min_obj // 2 or bw >= w or bh >= h:
                continue
            x1, y1 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            box = (x1, y1, x1 + bw, y1 + bh)
            if all(_max_ioa(box, b) < 0.3 for b in boxes):  # partial overlap; no shape hidden by more than 30%
                label = int(rng.integers(0, len(SHAPE_CLASSES)))
                _draw(rng, img, label, box)
                boxes.append(box)
                labels.append(label)
                break
    return img, boxes, labels


def make_shapes_dataset(out_dir, num_train=400, num_val=100, seed=0, **image_kwargs):
    """Write ``train/``, ``val/`` images and ``annotations/instances_{train,val}.json``.

    Returns the two annotation file paths.  Re-running with the same
    arguments rewrites identical files.
    """
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    categories = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(SHAPE_CLASSES)]
    paths = []
    for split, n, split_seed in (('train', num_train, seed), ('val', num_val, seed + 7919)):
        rng = np.random.default_rng(split_seed)
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, anns = [], []
        for i in range(n):
            img, boxes, labels = make_image(rng, **image_kwargs)
            name = f'{split}_{i:05d}.jpg'
            if not cv2.imwrite(osp.join(out_dir, split, name), img, [cv2.IMWRITE_JPEG_QUALITY, 92]):
                raise OSError(f'could not write {osp.join(out_dir, split, name)}')
            images.append(dict(id=i + 1, file_name=name, height=img.shape[0], width=img.shape[1]))
            for (x1, y1, x2, y2), label in zip(boxes, labels):
                anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=label + 1,
                                 bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=0))
        path = osp.join(out_dir, 'annotations', f'instances_{split}.json')
        with open(path, 'w') as f:
            json.dump(dict(images=images, annotations=anns, categories=categories,
                           info=dict(description=f'VFNet shapes dataset, seed {seed}')), f)
        paths.append(path)
    return paths


def coco_to_voc(coco_dir, out_dir, year='2007', difficult_every=0):
    """Re-lay a :func:`make_shapes_dataset` directory out as a Pascal VOC devkit:
    ``VOC<year>/{JPEGImages,Annotations}``, ``ImageSets/Main/{trainval,test}.txt``
    (from the train and val splits).  With ``difficult_every=k`` every k-th object
    is marked difficult.  Returns the ``VOC<year>`` directory."""
    import shutil
    from xml.sax.saxutils import escape
    root = osp.join(out_dir, f'VOC{year}')
    for sub in ('JPEGImages', 'Annotations', osp.join('ImageSets', 'Main')):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    count = 0
    for split, voc_split in (('train', 'trainval'), ('val', 'test')):
        with open(osp.join(coco_dir, 'annotations', f'instances_{split}.json')) as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        by_image = {}
        for a in coco['annotations']:
            by_image.setdefault(a['image_id'], []).append(a)
        ids = []
        for im in coco['images']:
            img_id = osp.splitext(im['file_name'])[0]
            ids.append(img_id)
            shutil.copyfile(osp.join(coco_dir, split, im['file_name']), osp.join(root, 'JPEGImages', f'{img_id}.jpg'))
            objs = []
            for a in by_image.get(im['id'], []):
                count += 1
                x, y, w, h = a['bbox']
                hard = int(difficult_every > 0 and count % difficult_every == 0)
                objs.append(f"  <object><name>{escape(names[a['category_id']])}</name><difficult>{hard}</difficult>"
                            f'<bndbox><xmin>{round(x)}</xmin><ymin>{round(y)}</ymin><xmax>{round(x + w)}</xmax>'
                            f'<ymax>{round(y + h)}</ymax></bndbox></object>')
            xml = (f"<annotation><filename>{img_id}.jpg</filename><size><width>{im['width']}</width>"
                   f"<height>{im['height']}</height><depth>3</depth></size>\n" + '\n'.join(objs) + '\n</annotation>\n')
            with open(osp.join(root, 'Annotations', f'{img_id}.xml'), 'w') as f:
                f.write(xml)
        with open(osp.join(root, 'ImageSets', 'Main', f'{voc_split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    return root


def synthetic_detection_set(num_images, num_classes=80, dets_per_image=100, gts_per_image=7, seed=0,
                            size=(480, 640)):
    """A COCO-format ground truth (dict) and 2.x-format results (per image, per
    class (k, 5)) for evaluation tests and benchmarks, no images needed.

    Detections are jittered copies of the gts (some good, some poor) plus random
    boxes, so the numbers are neither 0 nor 1 and every area range is present."""
    rng = np.random.default_rng(seed)
    h, w = size
    images, annotations, results = [], [], []
    for i in range(num_images):
        images.append(dict(id=i + 1, file_name=f'{i:06d}.jpg', height=h, width=w))
        n = rng.integers(1, gts_per_image + 1)
        sizes = np.exp(rng.uniform(np.log(8), np.log(min(h, w) * 0.8), size=(n, 2)))
        xy = rng.uniform(0, 1, size=(n, 2)) * (np.array([w, h]) - sizes)
        gts = np.concatenate([xy, xy + sizes], 1)
        labels = rng.integers(0, num_classes, n)
        for box, label in zip(gts, labels):
            annotations.append(dict(id=len(annotations) + 1, image_id=i + 1, category_id=int(label) + 1,
                                    bbox=[float(box[0]), float(box[1]), float(box[2] - box[0]),
                                          float(box[3] - box[1])],
                                    area=float((box[2] - box[0]) * (box[3] - box[1])), iscrowd=0))
        k = dets_per_image
        src = rng.integers(0, n, k)
        jitter = rng.normal(0, 0.15, size=(k, 4)) * np.repeat(sizes[src], 2, axis=0).reshape(k, 4)
        boxes = gts[src] + jitter
        rand = rng.random(k) < 0.4  # some detections anywhere
        rxy = rng.uniform(0, 1, size=(rand.sum(), 2)) * np.array([w, h])
        boxes[rand] = np.concatenate([rxy, rxy + rng.uniform(8, 200, size=(rand.sum(), 2))], 1)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        det_labels = np.where(rng.random(k) < 0.8, labels[src], rng.integers(0, num_classes, k))
        scores = np.where(rand, rng.uniform(0, 0.5, k), rng.uniform(0.2, 1.0, k))
        dets = np.concatenate([boxes, scores[:, None]], 1).astype(np.float32)
        results.append([dets[det_labels == c] for c in range(num_classes)])
    categories = [dict(id=c + 1, name=f'class_{c}') for c in range(num_classes)]
    return dict(images=images, annotations=annotations, categories=categories), results
