"""2D box overlaps as a config-buildable calculator (MMDetection 2.x's ``BboxOverlaps2D``)."""
from ..iou import bbox_overlaps
from .builder import IOU_CALCULATORS


@IOU_CALCULATORS.register_module()
class BboxOverlaps2D:
    """IoU / IoF / GIoU of 2D boxes; see :func:`mmdet.core.bbox.bbox_overlaps`."""

    def __call__(self, bboxes1, bboxes2, mode='iou', is_aligned=False):
        """Overlaps between ``bboxes1`` and ``bboxes2``.

        Args:
            bboxes1 (Tensor): (..., m, 4) ``[x1, y1, x2, y2]`` or (..., m, 5) with
                a trailing score column (dropped), or empty.
            bboxes2 (Tensor): (..., n, 4) or (..., n, 5), or empty; with
                ``is_aligned`` m must equal n.
            mode (str): ``'iou'``, ``'iof'`` (over ``bboxes1``'s area) or ``'giou'``.
            is_aligned (bool): overlaps of the pairs ``(bboxes1[i], bboxes2[i])`` only.

        Returns:
            Tensor: (..., m, n), or (..., m) when ``is_aligned``.
        """
        for name, boxes in (('bboxes1', bboxes1), ('bboxes2', bboxes2)):
            if boxes.size(-1) not in (0, 4, 5):
                raise ValueError(f'{name} must have 4 ([x1, y1, x2, y2]) or 5 (with a score) columns, '
                                 f'got shape {tuple(boxes.shape)}')
        if bboxes1.size(-1) == 5:
            bboxes1 = bboxes1[..., :4]
        if bboxes2.size(-1) == 5:
            bboxes2 = bboxes2[..., :4]
        return bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)

    def __repr__(self):
        return f'{type(self).__name__}()'
