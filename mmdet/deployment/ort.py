"""Run an exported detector with onnxruntime, pre-processed by the config's test pipeline."""
import numpy as np

from mmdet.core import bbox2result
from mmdet.datasets import COCO_CLASSES
from mmdet.utils import Config

from .export import require_deploy_deps


class ONNXRuntimeDetector:
    """An exported ``.onnx`` detector behind the 2.x result format.

    ``detector(img_tensor (1, 3, H, W) array, img_meta)`` returns, per class, an
    (k, 5) float32 array ``[x1, y1, x2, y2, score]`` in original-image pixels, as
    ``inference_detector`` does for the PyTorch model.  ``threads`` sets
    onnxruntime's intra-op threads (0: its default); ``providers`` its execution providers
    (default ``['CPUExecutionProvider']``; ``['CUDAExecutionProvider', 'CPUExecutionProvider']`` with
    the onnxruntime-gpu wheel)."""

    def __init__(self, onnx_file, cfg, class_names=None, threads=0, providers=None):
        ort, = require_deploy_deps('onnxruntime')
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(onnx_file, opts, providers=list(providers or ['CPUExecutionProvider']))
        self.cfg = Config.fromfile(cfg) if isinstance(cfg, str) else cfg
        self.num_classes = self.cfg.model.bbox_head.num_classes
        if class_names is None:
            class_names = self.cfg.get('data', {}).get('test', {}).get('classes')
        if class_names is None:
            class_names = COCO_CLASSES if self.num_classes == len(COCO_CLASSES) else \
                tuple(str(i) for i in range(self.num_classes))
        self.CLASSES = tuple(class_names)

    def run(self, img, img_meta):
        """Raw outputs ``(dets (N, 5), labels (N,))`` for one pre-processed image."""
        h, w = img_meta['img_shape'][:2]
        feeds = {'input': np.ascontiguousarray(img, dtype=np.float32),
                 'img_shape': np.array([h, w], np.float32),
                 'scale_factor': np.asarray(img_meta['scale_factor'], np.float32).reshape(4)}
        dets, labels = self.session.run(['dets', 'labels'], feeds)
        return dets, labels

    def __call__(self, img, img_meta):
        import torch
        dets, labels = self.run(img, img_meta)
        return bbox2result(torch.from_numpy(dets), torch.from_numpy(labels), self.num_classes)

    def test_data(self, data):
        """One item of a test-mode dataset (``img``/``img_metas`` lists of one view, DataContainers or not)."""
        from mmdet.parallel import unwrap
        data = unwrap(data)
        img = data['img'][0]
        img = img.numpy() if hasattr(img, 'numpy') else np.asarray(img)
        return self(img[None] if img.ndim == 3 else img, data['img_metas'][0])

    def inference(self, img):
        """Detect in an image file or BGR array with the config's test pipeline."""
        from mmdet.apis.inference import prepare_test_data
        return self.test_data(prepare_test_data(self.cfg, img))

    def show_result(self, img, result, score_thr=0.3, out_file=None):
        """Draw ``result`` on ``img`` (a path or BGR array), as the PyTorch model's ``show_result``."""
        from mmdet.core.visualization import imshow_det_bboxes
        bboxes = np.vstack(result)
        labels = np.concatenate([np.full(len(r), i, dtype=np.int64) for i, r in enumerate(result)])
        return imshow_det_bboxes(img, bboxes, labels, class_names=self.CLASSES, score_thr=score_thr,
                                 out_file=out_file)
