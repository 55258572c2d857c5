"""Load a detector from config + checkpoint and run it on images."""
import copy
import os
import warnings

import numpy as np
import torch

from mmdet.datasets import COCO_CLASSES
from mmdet.datasets.pipelines import Compose
from mmdet.models import build_detector
from mmdet.parallel import collate, scatter
from mmdet.runner import load_checkpoint
from mmdet.utils import Config


def init_detector(config, checkpoint=None, device='cpu', cfg_options=None):
    """Build the detector of ``config`` (a path or Config), load ``checkpoint``, eval mode."""
    if isinstance(config, str):
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a filename or Config, got {type(config).__name__}')
    config = copy.deepcopy(config)
    if cfg_options is not None:
        config.merge_from_dict(cfg_options)
    config.model.pretrained = None
    if 'init_cfg' in config.model.get('backbone', {}):
        config.model.backbone.init_cfg = None
    config.model.train_cfg = None
    model = build_detector(config.model, test_cfg=config.get('test_cfg'))
    model.CLASSES = None
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
        classes = ckpt.get('meta', {}).get('CLASSES')
        if classes is not None:
            model.CLASSES = tuple(classes)
    if model.CLASSES is None:
        ds_classes = config.get('data', {}).get('test', {}).get('classes')
        if ds_classes is not None:
            model.CLASSES = tuple(ds_classes)
        elif model.bbox_head.num_classes == len(COCO_CLASSES):
            model.CLASSES = COCO_CLASSES
        else:
            warnings.warn('class names unknown (not in the checkpoint nor the config); using numbers')
            model.CLASSES = tuple(str(i) for i in range(model.bbox_head.num_classes))
    model.cfg = config
    return model.to(device).eval()


def _test_pipeline(cfg, array_input):
    steps = copy.deepcopy(cfg.data.test.pipeline)
    if array_input:
        steps[0] = dict(steps[0], type='LoadImageFromWebcam')
    return Compose(steps)


def build_test_pipelines(cfg):
    """``cfg``'s test pipeline for both kinds of input: ``{False: for image files, True: for BGR arrays}``
    (the arrays' one starts with ``LoadImageFromWebcam`` with the first step's arguments).  Build them once
    when preparing many images (:func:`prepare_test_data` takes them)."""
    return {False: _test_pipeline(cfg, False), True: _test_pipeline(cfg, True)}


def prepare_test_data(cfg, img, pipelines=None):
    """One image (a path or BGR array) through ``cfg``'s test pipeline: the pipeline's output in the
    2.x form (per view lists; ``img_metas`` in DataContainers; :func:`mmdet.parallel.unwrap` gives plain
    values).  ``pipelines``: from :func:`build_test_pipelines` (built here when None)."""
    is_array = isinstance(img, np.ndarray)
    if not is_array:
        if not isinstance(img, (str, os.PathLike)):
            raise TypeError(f'an image is a file path or a BGR numpy array, got {type(img).__name__}')
        img = os.fspath(img)
    data = dict(img=img) if is_array else dict(img_info=dict(filename=img), img_prefix=None)
    pipeline = pipelines[is_array] if pipelines is not None else _test_pipeline(cfg, is_array)
    return pipeline(data)


def inference_batch(model, items):
    """One forward pass of ``model`` over ``items`` (outputs of :func:`prepare_test_data`): collated as
    one batch, each image padded bottom/right with zeros to the batch's largest (the results of a
    GroupNorm model, VFNet's head, depend slightly on that padding), moved to the model's device.
    Returns the 2.x results, one per item: a list over classes of (k, 5) float32 arrays
    ``[x1, y1, x2, y2, score]`` in original-image pixels."""
    if not items:
        return []
    device = next(model.parameters()).device
    data = scatter(collate(list(items), samples_per_gpu=len(items)), device)
    with torch.no_grad():
        return model(return_loss=False, rescale=True, **data)


def inference_detector(model, imgs):
    """Detect in one image (path or BGR array) or a list of them (paths and arrays may be mixed).

    A list is ONE batch, one forward pass, as in MMDetection 2.x from 2.18 on (see
    :func:`inference_batch` for the padding); for long lists use :class:`mmdet.apis.DetInferencer`
    with ``batch_size``.  Returns the 2.x result of the image, or a list of them."""
    single = not isinstance(imgs, (list, tuple))
    imgs = [imgs] if single else list(imgs)
    pipelines = build_test_pipelines(model.cfg)
    results = inference_batch(model, [prepare_test_data(model.cfg, img, pipelines) for img in imgs])
    return results[0] if single else results


def show_result(model, img, result, score_thr=0.3, out_file=None):
    """Draw ``result`` on ``img``; returns the drawn BGR array (and writes ``out_file``)."""
    module = model.module if hasattr(model, 'module') else model
    return module.show_result(img, result, score_thr=score_thr, out_file=out_file)
