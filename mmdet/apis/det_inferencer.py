"""``DetInferencer``: MMDetection 3.x's inference front end, over this 2.x toolbox.

    inferencer = DetInferencer(model='configs/vfnet/vfnet_r50_fpn_1x_coco.py', weights='vfnet_r50.pth')
    out = inferencer('images/', batch_size=4, out_dir='outputs', coco_json='outputs/results.bbox.json')
    out['predictions'][0]  # {'bboxes': [[x1, y1, x2, y2], ...], 'scores': [...], 'labels': [...], ...}

Inputs (files, folders, globs, arrays, videos) are expanded lazily: a video is read frame by frame and
images are decoded when their batch comes.  Each batch of ``batch_size`` images is one forward pass
(:func:`mmdet.apis.inference.inference_batch`).  An exported ``.onnx`` model runs behind the same calls
through :class:`mmdet.deployment.ONNXRuntimeDetector` (one image per session run: the exported graph takes
one image).
"""
import glob
import json
import os
import os.path as osp
import sys
import time
import warnings
from itertools import islice
from types import SimpleNamespace

import cv2
import numpy as np
import torch
import torch.nn as nn

from mmdet.core.evaluation.coco_metric import results_to_coco_json
from mmdet.core.visualization import _palette as default_colors
from mmdet.datasets.pipelines.loading import imread
from mmdet.parallel import unwrap
from mmdet.utils import Config

from .inference import build_test_pipelines, inference_batch, init_detector, prepare_test_data
from .sliced_inference import sliced_inference
from .video import open_video, video_frames

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv', '.flv')
_GLOB_CHARS = frozenset('*?[')


# ----------------------------------------------------------------------------------------------- inputs

def _is_image_name(path):
    return path.lower().endswith(IMG_EXTENSIONS)


def list_images(folder):
    """The image files directly in ``folder`` (not in its subfolders), sorted by name."""
    names = sorted(n for n in os.listdir(folder) if _is_image_name(n) and osp.isfile(osp.join(folder, n)))
    if not names:
        raise FileNotFoundError(f'no images ({" ".join(IMG_EXTENSIONS)}) in folder {folder}')
    return [osp.join(folder, n) for n in names]


def glob_images(pattern):
    """The image files matching ``pattern`` (``**`` matches any depth of folders), sorted."""
    paths = sorted(p for p in glob.glob(pattern, recursive=True) if _is_image_name(p) and osp.isfile(p))
    if not paths:
        raise FileNotFoundError(f'no image files match {pattern!r}')
    return paths


def _check_array(img, where):
    if img.ndim != 3 or img.shape[2] != 3 or not img.size:
        raise ValueError(f'{where}: an image array is (H, W, 3) BGR, got shape {img.shape}')
    return img


def expand_inputs(inputs):
    """The images of ``inputs`` as ``(items, total)``.

    Args:
        inputs: an image file; a folder (its image files, sorted by name); a glob pattern; a video file
            (its frames); a BGR array (H, W, 3); or a list/tuple mixing those.

    Returns:
        ``items``, an iterator of ``(name, img)``: ``img`` the image file's path or a BGR array, ``name``
        the file name its outputs get (the file's base name; ``{index:08d}.jpg`` for an array, ``index``
        its place among all the images; ``{video stem}_{frame:06d}.jpg`` for a frame), and ``total``, the
        number of images (a video counted as its header says).  Paths are checked here, before any
        image is read: a missing one raises FileNotFoundError naming it.
    """
    sources = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    parts, total = [], 0
    for i, src in enumerate(sources):
        if isinstance(src, np.ndarray):
            parts.append(('array', _check_array(src, f'input {i}')))
            total += 1
            continue
        if not isinstance(src, (str, os.PathLike)):
            raise TypeError(f'input {i}: an input is an image/video path, a folder, a glob pattern or a BGR '
                            f'numpy array, got {type(src).__name__}')
        path = os.fspath(src)
        if osp.isdir(path):
            files = list_images(path)
        elif osp.isfile(path) and path.lower().endswith(VIDEO_EXTENSIONS):
            cap = open_video(path)
            total += max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
            cap.release()
            parts.append(('video', path))
            continue
        elif osp.isfile(path):
            files = [path]
        elif _GLOB_CHARS & set(path):
            files = glob_images(path)
        else:
            raise FileNotFoundError(f'input not found: {path} (no such image, video, folder, or glob pattern)')
        parts.append(('files', files))
        total += len(files)
    return _iter_items(parts), total


def _iter_items(parts):
    index = 0
    for kind, value in parts:
        if kind == 'array':
            yield f'{index:08d}.jpg', value
            index += 1
        elif kind == 'files':
            for path in value:
                yield osp.basename(path), path
                index += 1
        else:
            stem, cap = osp.splitext(osp.basename(value))[0], open_video(value)
            try:
                for frame_no, (frame,) in enumerate(video_frames(cap)):
                    yield f'{stem}_{frame_no:06d}.jpg', frame
                    index += 1
            finally:
                cap.release()


def _batches(items, batch_size):
    while True:
        chunk = list(islice(items, batch_size))
        if not chunk:
            return
        yield chunk


# ------------------------------------------------------------------------------------ results and drawing

def result_to_instances(result):
    """A 2.x result (a list over classes of (k, 5) ``[x1, y1, x2, y2, score]`` arrays) as flat arrays,
    best score first: ``bboxes`` (N, 4) float32, ``scores`` (N,) float32, ``labels`` (N,) int64."""
    blocks = [np.asarray(r, np.float32).reshape(-1, 5) for r in result]
    dets = np.concatenate(blocks) if blocks else np.zeros((0, 5), np.float32)
    labels = np.repeat(np.arange(len(blocks), dtype=np.int64), [len(b) for b in blocks])
    order = np.argsort(-dets[:, 4], kind='stable')
    return dets[order, :4], dets[order, 4], labels[order]


def instances_to_result(bboxes, scores, labels, num_classes):
    """Flat ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,) as a 2.x result: a list over the
    ``num_classes`` classes of (k, 5) float32 arrays, each in the order given."""
    bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
    dets = np.concatenate([bboxes, np.asarray(scores, np.float32).reshape(-1, 1)], axis=1)
    labels = np.asarray(labels, np.int64).reshape(-1)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must be in [0, {num_classes}), got {labels.min()}..{labels.max()}')
    return [dets[labels == c] for c in range(num_classes)]


def resolve_palette(palette, num_classes):
    """One BGR colour per class for drawing.

    Args:
        palette: ``'none'``, ``None`` or ``'random'``: the toolbox's fixed random colours (those
            ``show_result`` draws with; this toolbox's datasets carry no palette of their own); a list of
            RGB triples (MMDetection 3.x's form; a shorter list than the classes is repeated); or one RGB
            triple for every class.
        num_classes (int): how many colours.
    """
    if palette is None or (isinstance(palette, str) and palette in ('none', 'random')):
        return default_colors(max(num_classes, 1))
    if isinstance(palette, str):
        raise ValueError(f"palette {palette!r} is not 'none', 'random', an RGB triple or a list of them")
    is_int = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)  # noqa: E731
    colors = [palette] if len(palette) == 3 and all(is_int(v) for v in palette) else list(palette)
    if not colors:
        raise ValueError('palette is an empty list')
    for c in colors:
        if len(c) != 3 or not all(is_int(v) and 0 <= v <= 255 for v in c):
            raise ValueError(f'palette colour {c!r} is not an RGB triple of integers in 0..255')
    return [tuple(int(v) for v in colors[i % len(colors)][::-1]) for i in range(max(num_classes, 1))]


def draw_predictions(img, bboxes, scores, labels, class_names, colors, score_thr=0.3, thickness=2,
                     font_scale=0.5):
    """A copy of ``img`` (BGR array) with the detections scoring above ``score_thr`` (all of them when it is
    0): a box in its class's colour (``colors``, BGR per class) and ``name|score``, as ``show_result``
    draws; the best drawn last, on top.  ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,)."""
    out = np.ascontiguousarray(img).copy()
    keep = np.asarray(scores) > score_thr if score_thr > 0 else np.ones(len(scores), bool)
    order = np.argsort(np.asarray(scores)[keep], kind='stable')
    for box, score, label in zip(np.asarray(bboxes)[keep][order], np.asarray(scores)[keep][order],
                                 np.asarray(labels)[keep][order]):
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        color = colors[int(label) % len(colors)]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thickness)
        cv2.putText(out, f'{class_names[int(label)]}|{float(score):.02f}', (x1, max(y1 - 2, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, 1, cv2.LINE_AA)
    return out


class DetDataSample:
    """What ``return_datasamples=True`` gives per image, shaped as MMDetection 3.x's: ``pred_instances``
    with ``bboxes`` (N, 4), ``scores`` (N,) and ``labels`` (N,) tensors, best first, and the image's
    ``img_path`` and ``ori_shape`` (H, W), also as ``metainfo``."""

    def __init__(self, bboxes, scores, labels, img_path, ori_shape):
        self.pred_instances = SimpleNamespace(bboxes=torch.from_numpy(bboxes), scores=torch.from_numpy(scores),
                                              labels=torch.from_numpy(labels))
        self.img_path, self.ori_shape = img_path, tuple(ori_shape)

    @property
    def metainfo(self):
        return dict(img_path=self.img_path, ori_shape=self.ori_shape)

    def __repr__(self):
        return f'DetDataSample(img_path={self.img_path!r}, {len(self.pred_instances.scores)} instances)'


def _show(name, drawn, wait_time):
    try:
        cv2.imshow(name, drawn)
        cv2.waitKey(max(int(wait_time * 1000), 0))
    except cv2.error as e:
        raise RuntimeError('show=True needs OpenCV with a GUI (opencv-python, not -headless) and a display; '
                           'use out_dir= to save the drawings instead') from e


# ------------------------------------------------------------------------------------------- the inferencer

class DetInferencer:
    """Detect in images, folders and videos with a detector, as MMDetection 3.x's ``DetInferencer``.

    Args:
        model: a config (file path or :class:`Config`); or an exported ``.onnx`` file (run with
            onnxruntime, ``weights=None``, its config given as ``config=``); or a detector built by
            :func:`init_detector` (with ``cfg`` and ``CLASSES``).
        weights (str, optional): the checkpoint for a config ``model`` (None: random weights, a warning).
        device (str, optional): e.g. ``'cpu'``, ``'cuda:0'`` (default: CUDA when there is one).  An
            ``.onnx`` model runs on the CPU.
        palette: colours of the drawn boxes, see :func:`resolve_palette`.
        show_progress (bool): a progress bar (on stderr) with the images per second.
        config: the config of an ``.onnx`` model (path or :class:`Config`): its test pipeline and classes.
        cfg_options (dict, optional): overrides merged into a config ``model``.

    Attributes:
        model: the detector (an ``nn.Module``) or the :class:`ONNXRuntimeDetector`.
        cfg: the config; ``classes``: the class names; ``backend``: ``'pytorch'`` or ``'onnxruntime'``.
    """

    def __init__(self, model, weights=None, device=None, palette='none', show_progress=True, config=None,
                 cfg_options=None):
        self.backend = 'pytorch'
        if isinstance(model, nn.Module):
            if weights is not None or config is not None:
                raise ValueError('model is an already built detector: load its weights before, and give no '
                                 'weights= or config=')
            if not hasattr(model, 'cfg') or not hasattr(model, 'CLASSES'):
                raise ValueError('a built detector needs .cfg and .CLASSES (init_detector sets them)')
            self.model = model.eval() if device is None else model.to(device).eval()
        elif _is_onnx(model):
            self.backend = 'onnxruntime'
            self.model = self._onnx_model(model, weights, device, config)
        elif isinstance(model, (str, os.PathLike, Config)):
            if config is not None:
                raise ValueError('config= is the config of an .onnx model; here model= is the config')
            if weights is None:
                warnings.warn('DetInferencer: weights is None, the detector has random weights')
            if device is None:
                device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
            cfg = model if isinstance(model, Config) else os.fspath(model)
            self.model = init_detector(cfg, None if weights is None else os.fspath(weights), device=device,
                                       cfg_options=cfg_options)
        else:
            from mmdet.deployment.ort import ONNXRuntimeDetector
            if not isinstance(model, ONNXRuntimeDetector):
                raise TypeError(f'model is a config (path or Config), an .onnx file, a built detector or an '
                                f'ONNXRuntimeDetector, got {type(model).__name__}')
            self.backend, self.model = 'onnxruntime', model
        self.cfg = self.model.cfg
        self.classes = tuple(self.model.CLASSES)
        self.colors = resolve_palette(palette, len(self.classes))
        self.show_progress = show_progress
        self.pipelines = build_test_pipelines(self.cfg)

    @staticmethod
    def _onnx_model(onnx_file, weights, device, config):
        from mmdet.deployment import ONNXRuntimeDetector
        onnx_file = os.fspath(onnx_file)
        if weights is not None:
            raise ValueError(f'{onnx_file} holds its weights: give weights=None and its config as config=')
        if config is None:
            raise ValueError(f'{onnx_file} needs its config for the test pipeline and classes: '
                             'DetInferencer(model=MODEL.onnx, config=CONFIG)')
        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX model not found: {onnx_file}')
        if device not in (None, 'cpu'):
            warnings.warn(f'DetInferencer: an .onnx model runs with onnxruntime on the CPU, not {device}')
        return ONNXRuntimeDetector(onnx_file, os.fspath(config) if isinstance(config, os.PathLike) else config)

    # ------------------------------------------------------------------------------------------ running

    def forward(self, items):
        """2.x results of a batch of test-pipeline outputs: one forward pass (PyTorch), or one session
        run per image (onnxruntime)."""
        if self.backend == 'onnxruntime':
            return [self.model.test_data(item) for item in items]
        return inference_batch(self.model, items)

    def __call__(self, inputs, batch_size=1, out_dir='', pred_score_thr=0.3, no_save_vis=False,
                 no_save_pred=False, return_datasamples=False, show=False, print_result=False, draw_pred=True,
                 return_vis=False, wait_time=0., return_2x=False, coco_json=None, image_ids=None,
                 slice_size=None, overlap=0.2):
        """Detect in ``inputs`` (see :func:`expand_inputs`), ``batch_size`` images per forward pass.

        Images of different sizes are padded (bottom/right, zeros) to the largest of their batch; the
        predictions do not depend on the batch except through that padding (none for images of one
        padded size).

        Args:
            batch_size (int): images per forward pass.
            out_dir (str): where ``preds/<image stem>.json`` and ``vis/<image name>`` go ('' : nowhere).
            pred_score_thr (float): the score above which detections are DRAWN (the predictions keep all
                the model gives, as in 3.x; the config's ``test_cfg.score_thr`` bounds them).
            no_save_vis, no_save_pred (bool): do not write ``vis/`` or ``preds/`` under ``out_dir``.
            return_datasamples (bool): predictions as :class:`DetDataSample` objects.
            return_2x (bool): predictions as 2.x results (per class (k, 5) arrays), as ``inference_detector``.
            show (bool): show each drawing in a window for ``wait_time`` seconds (0: until a key).
            print_result (bool): print the predictions.
            draw_pred (bool): draw the predictions (False: the drawings are the plain images).
            return_vis (bool): return the drawings (otherwise ``visualization`` holds Nones: a folder's or
                video's drawings are written, not kept).
            coco_json (str, optional): also write the predictions as one COCO results file, see
                :meth:`to_coco_json` (``image_ids`` as there).
            slice_size ((int, int), optional): detect tile by tile, tiles of (width, height) pixels merged
                back into one result (:func:`mmdet.apis.sliced_inference.sliced_inference`), for large
                images with small objects; ``batch_size`` tiles per forward pass.
            overlap (float): with ``slice_size``: the share of a tile its neighbour overlaps.

        Returns:
            dict: ``predictions``, one per image in input order: ``{'bboxes': [[x1, y1, x2, y2], ...],
            'scores': [...], 'labels': [...], 'label_names': [...], 'img_path': str, 'ori_shape': [H, W]}``
            (best score first, original-image pixels; ``img_path`` is the output name for an array or a
            frame), and ``visualization``, one BGR array (or None) per image.
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        if slice_size is not None and self.backend != 'pytorch':
            raise ValueError('slice_size runs the PyTorch detector tile by tile; not available with onnxruntime')
        if return_datasamples and return_2x:
            raise ValueError('return_datasamples and return_2x ask for two different result forms: choose one')
        items, total = expand_inputs(inputs)
        out_dir = os.fspath(out_dir) if out_dir else ''
        vis_dir = osp.join(out_dir, 'vis') if out_dir and not no_save_vis else ''
        pred_dir = osp.join(out_dir, 'preds') if out_dir and not no_save_pred else ''
        for d in (vis_dir, pred_dir):
            if d:
                os.makedirs(d, exist_ok=True)
        draw = bool(vis_dir or show or return_vis)
        predictions, outputs, visualization, seen = [], [], [], {}
        bar = _progress(total, self.show_progress)
        try:
            for chunk in _batches(items, batch_size):
                data = [prepare_test_data(self.cfg, img, self.pipelines) for _, img in chunk]
                results = self.forward(data) if slice_size is None else [
                    sliced_inference(self.model, img, slice_size=tuple(slice_size), overlap=overlap,
                                     batch_size=batch_size, pipelines=self.pipelines) for _, img in chunk]
                for (name, img), item, result in zip(chunk, data, results):
                    img_path = img if isinstance(img, str) else name
                    if out_dir:
                        _check_unique(seen, name, img_path, out_dir)
                    pred = self._prediction(result, img_path, unwrap(item['img_metas'])[0]['ori_shape'])
                    predictions.append(pred)
                    if pred_dir:
                        with open(osp.join(pred_dir, osp.splitext(name)[0] + '.json'), 'w') as f:
                            json.dump(pred, f)
                    drawn = self._draw(img, pred, pred_score_thr, draw_pred) if draw else None
                    if vis_dir and not cv2.imwrite(osp.join(vis_dir, name), drawn):
                        raise OSError(f'could not write {osp.join(vis_dir, name)}')
                    if show:
                        _show(name, drawn, wait_time)
                    visualization.append(drawn if return_vis else None)
                    outputs.append(result if return_2x else self._datasample(pred) if return_datasamples else pred)
                bar.update(len(chunk))
        finally:
            bar.close()
        if coco_json:
            self.to_coco_json(predictions, coco_json, image_ids=image_ids)
        if print_result:
            print({'predictions': outputs})
        return dict(predictions=outputs, visualization=visualization)

    def _prediction(self, result, img_path, ori_shape):
        bboxes, scores, labels = result_to_instances(result)
        return {'bboxes': bboxes.tolist(), 'scores': scores.tolist(), 'labels': labels.tolist(),
                'label_names': [self.classes[i] for i in labels.tolist()], 'img_path': img_path,
                'ori_shape': [int(ori_shape[0]), int(ori_shape[1])]}

    @staticmethod
    def _datasample(pred):
        return DetDataSample(np.asarray(pred['bboxes'], np.float32).reshape(-1, 4),
                             np.asarray(pred['scores'], np.float32), np.asarray(pred['labels'], np.int64),
                             pred['img_path'], pred['ori_shape'])

    def _draw(self, img, pred, score_thr, draw_pred):
        img = imread(img) if isinstance(img, str) else img
        if not draw_pred:
            return np.ascontiguousarray(img).copy()
        return draw_predictions(img, np.asarray(pred['bboxes'], np.float32).reshape(-1, 4),
                                np.asarray(pred['scores'], np.float32), np.asarray(pred['labels'], np.int64),
                                self.classes, self.colors, score_thr=score_thr)

    # ------------------------------------------------------------------------------------ result forms

    def to_2x(self, prediction):
        """One prediction dict as the 2.x result: a list over classes of (k, 5) float32 arrays."""
        return instances_to_result(prediction['bboxes'], prediction['scores'], prediction['labels'],
                                   len(self.classes))

    def to_coco_json(self, predictions, out_file, image_ids=None, cat_ids=None):
        """Write ``predictions`` as ONE COCO results file, no annotation file needed.

        ``out_file`` holds ``[{'image_id', 'category_id', 'bbox': [x, y, w, h], 'score'}, ...]`` (2.x's
        ``results_to_coco_json``), which pycocotools' ``COCO(annotations).loadRes(out_file)`` reads.  Beside
        it, ``<out_file without .json>.images.json`` records the ids used: a COCO file with ``images``
        (``id``, ``file_name``, ``width``, ``height``), ``categories`` and no annotations (``COCO(path)``
        loads it; ``loadRes`` against it works too).

        Args:
            predictions: prediction dicts (a call's ``predictions``, or the dict a call returns).
            out_file (str): the results json.
            image_ids: the COCO image id of each prediction: None (1, 2, ... in order), a list of ints (one
                per prediction), a dict ``{file name: id}``, or a COCO annotation file of the same images
                (path): ids matched by file name (its ``file_name`` or that name's last part), and the
                category ids by class name.
            cat_ids (list[int], optional): the category id of each class (default: the annotation file's,
                else ``label + 1``).

        Returns:
            tuple: ``(out_file, images_file)``.
        """
        if isinstance(predictions, dict):
            predictions = predictions['predictions']
        predictions = list(predictions)
        if predictions and not isinstance(predictions[0], dict):
            raise TypeError('to_coco_json takes prediction dicts (a call without return_datasamples/return_2x)')
        names = [p.get('img_path') or f'{i:08d}.jpg' for i, p in enumerate(predictions)]
        ann_cats = None
        if isinstance(image_ids, (str, os.PathLike)):
            img_ids, ann_cats = _ids_from_annotations(os.fspath(image_ids), names)
        elif isinstance(image_ids, dict):
            img_ids = [_lookup(image_ids, n, 'the image_ids mapping') for n in names]
        elif image_ids is None:
            img_ids = list(range(1, len(predictions) + 1))
        else:
            img_ids = [int(i) for i in image_ids]
            if len(img_ids) != len(predictions):
                raise ValueError(f'{len(img_ids)} image_ids for {len(predictions)} predictions')
        if cat_ids is None:
            cat_ids = list(range(1, len(self.classes) + 1)) if ann_cats is None else \
                [_lookup(ann_cats, c, f'the categories of {os.fspath(image_ids)}') for c in self.classes]
        if len(cat_ids) != len(self.classes):
            raise ValueError(f'{len(cat_ids)} cat_ids for {len(self.classes)} classes')
        dets = results_to_coco_json([self.to_2x(p) for p in predictions], img_ids, cat_ids)
        out_file = os.fspath(out_file)
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        with open(out_file, 'w') as f:
            json.dump(dets, f)
        images = [dict(id=int(i), file_name=osp.basename(n),
                       **({'height': p['ori_shape'][0], 'width': p['ori_shape'][1]} if 'ori_shape' in p else {}))
                  for i, n, p in zip(img_ids, names, predictions)]
        skeleton = dict(images=images, annotations=[],
                        categories=[dict(id=int(c), name=n) for c, n in zip(cat_ids, self.classes)])
        images_file = (out_file[:-5] if out_file.endswith('.json') else out_file) + '.images.json'
        with open(images_file, 'w') as f:
            json.dump(skeleton, f)
        return out_file, images_file


def _is_onnx(model):
    return isinstance(model, (str, os.PathLike)) and os.fspath(model).lower().endswith('.onnx')


def _check_unique(seen, name, img_path, out_dir):
    if name in seen:
        raise ValueError(f'two inputs are named {name} ({seen[name]} and {img_path}): their outputs in '
                         f'{out_dir} would overwrite each other')
    seen[name] = img_path


def _lookup(mapping, key, what):
    for k in (key, osp.basename(key)):
        if k in mapping:
            return int(mapping[k])
    raise KeyError(f'{key!r} is not in {what}')


def _ids_from_annotations(ann_file, names):
    """Image ids of ``names`` and ``{class name: category id}`` from a COCO annotation file."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    with open(ann_file) as f:
        data = json.load(f)
    by_name = {}
    for img in data.get('images', []):
        by_name[img['file_name']] = img['id']
        by_name.setdefault(osp.basename(img['file_name']), img['id'])
    cats = {c['name']: c['id'] for c in data.get('categories', [])}
    return [_lookup(by_name, n, f'the images of {ann_file}') for n in names], cats


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, enabled):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total or None, unit='img', desc='inference', dynamic_ncols=True, file=sys.stderr)


# ---------------------------------------------------------------------------------------------- benchmark

def benchmark_inference(inferencer, inputs, batch_sizes=(1, 4), warmup=1):
    """Images per second of ``inferencer`` over ``inputs`` for each batch size (1: one by one): reading,
    test pipeline, forward and results, nothing written.  ``inputs`` are expanded once, not timed (a video's
    frames are held in memory); before each timed pass ``warmup`` batches run untimed.

    Returns:
        list[dict]: per batch size, ``batch_size``, ``images``, ``seconds`` and ``images_per_s``.
    """
    items, _ = expand_inputs(inputs)
    imgs = [img for _, img in items]
    show, inferencer.show_progress = inferencer.show_progress, False
    rows = []
    try:
        for bs in batch_sizes:
            if warmup:
                inferencer(imgs[:bs * warmup], batch_size=bs)
            start = time.perf_counter()
            inferencer(imgs, batch_size=bs)
            seconds = time.perf_counter() - start
            rows.append(dict(batch_size=bs, images=len(imgs), seconds=seconds, images_per_s=len(imgs) / seconds))
    finally:
        inferencer.show_progress = show
    return rows
