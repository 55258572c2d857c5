from torch import nn

from mmdet.core import bbox2result

from ..builder import DETECTORS, build_backbone, build_head, build_neck
from .base import BaseDetector


def _init(module):
    """``module.init_weights()`` when it has one."""
    if callable(getattr(module, 'init_weights', None)):
        module.init_weights()


@DETECTORS.register_module()
class SingleStageDetector(BaseDetector):
    """backbone -> neck -> dense head."""

    def __init__(self, backbone, neck=None, bbox_head=None, train_cfg=None, test_cfg=None, pretrained=None,
                 init_cfg=None):
        super().__init__()
        if bbox_head is None:
            raise ValueError(f'{type(self).__name__} needs a bbox_head')
        self.backbone = build_backbone(backbone)
        if neck is not None:
            self.neck = build_neck(neck)
        bbox_head = dict(bbox_head)
        bbox_head.update(train_cfg=train_cfg, test_cfg=test_cfg)
        self.bbox_head = build_head(bbox_head)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.pretrained = pretrained
        self.init_weights(pretrained)

    def init_weights(self, pretrained=None):
        """Initialise backbone (with ``pretrained``, 2.10's form), neck(s) and head.  Modules written for
        2.12+ (mmcv's ``BaseModule``: ``init_weights(self)``, weights from ``init_cfg``) get no
        ``pretrained`` argument when there is none; a module without ``init_weights`` keeps its own
        initialisation."""
        if pretrained is None:
            _init(self.backbone)
        else:
            self.backbone.init_weights(pretrained=pretrained)
        if self.with_neck:
            necks = self.neck if isinstance(self.neck, (list, tuple, nn.Sequential)) else [self.neck]
            for n in necks:
                _init(n)
        _init(self.bbox_head)

    def extract_feat(self, img):
        x = self.backbone(img)
        return self.neck(x) if self.with_neck else x

    def forward_dummy(self, img):
        return self.bbox_head(self.extract_feat(img))

    def forward_train(self, img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore=None):
        for m in img_metas:
            m.setdefault('batch_input_shape', tuple(img.size()[-2:]))
        x = self.extract_feat(img)
        return self.bbox_head.forward_train(x, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)

    def simple_test(self, img, img_metas, rescale=False):
        """Per image a list over classes of (k, 5) arrays."""
        x = self.extract_feat(img)
        results = self.bbox_head.simple_test(x, img_metas, rescale=rescale)
        return [bbox2result(dets, labels, self.bbox_head.num_classes) for dets, labels in results]

    def aug_test(self, imgs, img_metas, rescale=False):
        """``imgs``: list over augmentations of (N, C, H, W); per image one merged result."""
        if not hasattr(self.bbox_head, 'aug_test'):
            raise NotImplementedError(f'{type(self.bbox_head).__name__} does not support test-time augmentation')
        feats = self.extract_feats(imgs)
        results = self.bbox_head.aug_test(feats, img_metas, rescale=rescale)
        return [bbox2result(dets, labels, self.bbox_head.num_classes) for dets, labels in results]
