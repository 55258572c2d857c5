"""``FilterAnnotations``: drop ground-truth boxes too small to learn from (2.x, used by YOLOX after
Mosaic/RandomAffine, which leave slivers at the tile borders)."""
import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES
from .transforms import check_bool, is_number, is_pair


@PIPELINES.register_module()
class FilterAnnotations:
    """Keep the gt boxes wider than ``min_gt_bbox_wh[0]`` and taller than ``min_gt_bbox_wh[1]`` (strictly),
    with their labels; ``gt_bboxes_ignore`` is left as it is (as 2.x).

    An image that has no gt box to begin with passes unchanged.  If every box is filtered out,
    ``keep_empty=True`` (the default) returns None, so the dataset draws another sample (2.x's name: it
    "keeps" the image out), and ``keep_empty=False`` returns the image with no boxes (YOLOX's setting, as
    MultiImageMixDataset retries a step that returns None only ``max_refetch`` times).  The semantics are
    2.25+'s; the mask arguments are accepted for 2.x configs and ``by_mask=True`` is refused (no masks).

    Args:
        min_gt_bbox_wh (tuple[float]): (width, height) a box must exceed, in pixels.
        min_gt_mask_area (int): 2.x's mask-area threshold (unused here).
        by_box (bool): filter by the box size; must be True here.
        by_mask (bool): filter by the mask area; must be False here.
        keep_empty (bool): see above.
    """

    def __init__(self, min_gt_bbox_wh=(1., 1.), min_gt_mask_area=1, by_box=True, by_mask=False, keep_empty=True):
        name = type(self).__name__
        if not is_pair(min_gt_bbox_wh, lambda x: is_number(x) and x >= 0):
            raise InvalidArgumentError(f'{name} min_gt_bbox_wh must be (w, h), two non-negative numbers, got '
                                       f'{min_gt_bbox_wh!r}')
        for arg, value in (('by_box', by_box), ('by_mask', by_mask), ('keep_empty', keep_empty)):
            check_bool(name, arg, value)
        if by_mask:
            raise InvalidArgumentError(f'{name} by_mask=True filters instance masks, which this toolbox does not '
                                       'load (box detection only); use by_box=True')
        if not by_box:
            raise InvalidArgumentError(f'{name} needs by_box=True (by_mask is not supported)')
        self.min_gt_bbox_wh = tuple(float(v) for v in min_gt_bbox_wh)
        self.min_gt_mask_area, self.by_box, self.by_mask = min_gt_mask_area, by_box, by_mask
        self.keep_empty = keep_empty

    def __call__(self, results):
        """``results['gt_bboxes']`` (n, 4) x1y1x2y2 and ``gt_labels`` (n,) are indexed by the kept boxes."""
        if 'gt_bboxes' not in results:
            raise KeyError(f'{type(self).__name__} needs gt_bboxes in the results (put it after LoadAnnotations)')
        boxes = results['gt_bboxes']
        if boxes.shape[0] == 0:
            return results
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        keep = (w > self.min_gt_bbox_wh[0]) & (h > self.min_gt_bbox_wh[1])
        for key in ('gt_bboxes', 'gt_labels'):
            if key in results:
                results[key] = results[key][keep]
        if not keep.any() and self.keep_empty:
            return None
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(min_gt_bbox_wh={self.min_gt_bbox_wh}, by_box={self.by_box}, '
                f'by_mask={self.by_mask}, keep_empty={self.keep_empty})')
