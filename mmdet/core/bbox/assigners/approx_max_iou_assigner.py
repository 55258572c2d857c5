"""2.x's ``ApproxMaxIoUAssigner`` (guided anchoring, SABL): max-IoU assignment
of *squares*, each judged by the best of its group of approximating anchors.

A location of a SABL / guided-anchoring head has one square prior and
``approxs_per_octave`` approximating anchors (the RetinaNet anchors of that
location).  The overlap of a square with a gt is the largest IoU of any of its
approxs with that gt; with those overlaps the squares are assigned exactly as
:class:`MaxIoUAssigner` assigns boxes (:func:`max_iou_assign`).
"""

from ..builder import BBOX_ASSIGNERS
from ..iou_calculators import build_iou_calculator
from .base_assigner import BaseAssigner
from .max_iou_assigner import max_iou_assign


@BBOX_ASSIGNERS.register_module()
class ApproxMaxIoUAssigner(BaseAssigner):
    """Assign gts to squares by the best IoU of each square's approxs.

    Args:
        pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all,
        match_low_quality: see :func:`max_iou_assign`.
        ignore_iof_thr (float): squares covering a ``gt_bboxes_ignore`` box by
            IoF above this are ignored (< 0: no ignoring).
        ignore_wrt_candidates (bool): IoF over the square's area (else over the
            ignored box's).
        gpu_assign_thr (int): accepted for 2.x configs; unused (the
            assignment is one vectorised pass on the priors' device).
        iou_calculator (dict): the overlap calculator.
    """

    def __init__(self, pos_iou_thr, neg_iou_thr, min_pos_iou=.0, gt_max_assign_all=True, ignore_iof_thr=-1,
                 ignore_wrt_candidates=True, match_low_quality=True, gpu_assign_thr=-1,
                 iou_calculator=dict(type='BboxOverlaps2D')):
        self.pos_iou_thr, self.neg_iou_thr, self.min_pos_iou = pos_iou_thr, neg_iou_thr, min_pos_iou
        self.gt_max_assign_all, self.match_low_quality = gt_max_assign_all, match_low_quality
        self.ignore_iof_thr, self.ignore_wrt_candidates = ignore_iof_thr, ignore_wrt_candidates
        self.gpu_assign_thr = gpu_assign_thr
        self.iou_calculator = build_iou_calculator(iou_calculator)

    def approx_overlaps(self, approxs, squares, approxs_per_octave, gt_bboxes):
        """(G, n) overlaps: for each gt and square the best IoU of the square's approxs.

        ``approxs`` (n * approxs_per_octave, 4) are grouped by square: rows
        ``i * approxs_per_octave ... (i + 1) * approxs_per_octave - 1`` belong
        to ``squares[i]``."""
        num_squares = squares.size(0)
        if approxs.size(0) != num_squares * approxs_per_octave:
            raise ValueError(f'ApproxMaxIoUAssigner: {approxs.size(0)} approxs for {num_squares} squares '
                             f'x {approxs_per_octave} approxs_per_octave')
        ious = self.iou_calculator(gt_bboxes, approxs[:, :4])  # (G, n * A)
        return ious.view(gt_bboxes.size(0), num_squares, approxs_per_octave).max(dim=2).values

    def assign(self, approxs, squares, approxs_per_octave, gt_bboxes, gt_bboxes_ignore=None, gt_labels=None):
        """Assign the squares.

        Args:
            approxs (Tensor): (n * approxs_per_octave, 4), grouped by square.
            squares (Tensor): (n, 4) the priors being assigned.
            approxs_per_octave (int): approxs per square.
            gt_bboxes (Tensor): (G, 4).
            gt_bboxes_ignore (Tensor | None): (I, 4) boxes to ignore.
            gt_labels (Tensor | None): (G,).

        Returns:
            AssignResult: of the n squares (see :func:`max_iou_assign`).
        """
        num_squares, num_gts = squares.size(0), gt_bboxes.size(0)
        if num_squares == 0 or num_gts == 0:
            overlaps = squares.new_zeros((num_gts, num_squares))
        else:
            overlaps = self.approx_overlaps(approxs, squares, approxs_per_octave, gt_bboxes)
            if self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0:
                if self.ignore_wrt_candidates:
                    iof = self.iou_calculator(squares, gt_bboxes_ignore, mode='iof').max(dim=1).values
                else:
                    iof = self.iou_calculator(gt_bboxes_ignore, squares, mode='iof').max(dim=0).values
                overlaps[:, iof > self.ignore_iof_thr] = -1
        return max_iou_assign(overlaps, self.pos_iou_thr, self.neg_iou_thr, self.min_pos_iou,
                              self.gt_max_assign_all, self.match_low_quality, gt_labels)
