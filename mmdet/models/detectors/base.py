"""The 2.x detector API: ``forward(return_loss=...)``, ``train_step``, ``val_step``."""
from collections import OrderedDict

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from mmdet.core.visualization import imshow_det_bboxes
from mmdet.utils.host import retain_freed_memory


class BaseDetector(nn.Module):

    def __init__(self):
        super().__init__()
        # a detector's feature maps are larger than glibc's mmap threshold: keep freed ones for reuse
        retain_freed_memory()

    def extract_feat(self, img):
        raise NotImplementedError

    def extract_feats(self, imgs):
        return [self.extract_feat(img) for img in imgs]

    @property
    def with_neck(self):
        return getattr(self, 'neck', None) is not None

    def forward(self, img, img_metas, return_loss=True, **kwargs):
        """Training: ``forward(img, img_metas, gt_bboxes=..., gt_labels=...)``;
        testing: ``forward([img], [img_metas], return_loss=False)`` (lists over augmentations)."""
        if return_loss:
            return self.forward_train(img, img_metas, **kwargs)
        return self.forward_test(img, img_metas, **kwargs)

    def forward_test(self, imgs, img_metas, rescale=True, **kwargs):
        if isinstance(imgs, torch.Tensor):
            imgs, img_metas = [imgs], [img_metas]
        if len(imgs) != len(img_metas):
            raise ValueError(f'{len(imgs)} augmented images but {len(img_metas)} img_metas lists')
        for img, metas in zip(imgs, img_metas):
            for m in metas:
                m['batch_input_shape'] = tuple(img.size()[-2:])
        if len(imgs) == 1:
            return self.simple_test(imgs[0], img_metas[0], rescale=rescale, **kwargs)
        return self.aug_test(imgs, img_metas, rescale=rescale, **kwargs)

    @staticmethod
    def _parse_losses(losses):
        log_vars = OrderedDict()
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                log_vars[name] = value.mean()
            elif isinstance(value, (list, tuple)):
                log_vars[name] = sum(v.mean() for v in value)
            else:
                raise TypeError(f'{name} is not a tensor or list of tensors')
        loss = sum(v for k, v in log_vars.items() if 'loss' in k)
        log_vars['loss'] = loss
        out = OrderedDict()
        for name, value in log_vars.items():
            if dist.is_available() and dist.is_initialized():
                value = value.data.clone()
                dist.all_reduce(value.div_(dist.get_world_size()))
            out[name] = value.item()
        return loss, out

    def train_step(self, data, optimizer=None):
        losses = self(**data)
        loss, log_vars = self._parse_losses(losses)
        return dict(loss=loss, log_vars=log_vars, num_samples=len(data['img_metas']))

    def val_step(self, data, optimizer=None):
        return self.train_step(data, optimizer)

    def show_result(self, img, result, score_thr=0.3, thickness=2, font_scale=0.5, show=False, out_file=None,
                    **kwargs):
        """Draw a 2.x result (list over classes of (k, 5) arrays) on ``img``."""
        bboxes = np.vstack(result) if len(result) else np.zeros((0, 5), np.float32)
        labels = np.concatenate([np.full(r.shape[0], i, dtype=np.int32) for i, r in enumerate(result)]) \
            if len(result) else np.zeros(0, np.int32)
        return imshow_det_bboxes(img, bboxes, labels, class_names=getattr(self, 'CLASSES', None),
                                 score_thr=score_thr, thickness=thickness, font_scale=font_scale,
                                 show=show, out_file=out_file)
