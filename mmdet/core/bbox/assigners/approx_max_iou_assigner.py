"""2.x's ``ApproxMaxIoUAssigner`` (guided anchoring, SABL): max-IoU assignment
of *squares*, each judged by the best of its group of approximating anchors.

A location of a SABL / guided-anchoring head has one square prior and
``approxs_per_octave`` approximating anchors (the RetinaNet anchors of that
location).  The overlap of a square with a gt is the largest IoU of any of its
approxs with that gt; with those overlaps the squares are assigned exactly as
:class:`MaxIoUAssigner` assigns boxes (:func:`max_iou_assign`).
"""
import torch

from ..builder import BBOX_ASSIGNERS
from ..iou_calculators import build_iou_calculator
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


def max_iou_assign(overlaps, pos_iou_thr, neg_iou_thr, min_pos_iou=0.0, gt_max_assign_all=True,
                   match_low_quality=True, gt_labels=None):
    """2.x's ``MaxIoUAssigner.assign_wrt_overlaps``: assignment from an overlap matrix.

    Args:
        overlaps (Tensor): (G, N) overlaps of the gts with the priors; ignored
            priors have -1 in every row.
        pos_iou_thr (float): positive when the best overlap >= this.
        neg_iou_thr (float | tuple): negative when the best overlap is in
            [0, thr) (or in [lo, hi)).
        min_pos_iou (float): with ``match_low_quality``, each gt also takes its
            best prior(s) when that overlap >= this.
        gt_max_assign_all (bool): all priors tied at a gt's best overlap, or
            only the first.
        match_low_quality (bool): see ``min_pos_iou``.
        gt_labels (Tensor | None): (G,) labels, to fill ``AssignResult.labels``.

    Returns:
        AssignResult: ``gt_inds`` (N,) 1-based (0 background, -1 ignored),
        ``max_overlaps`` (N,), ``labels`` (N,) or None.  Ties between gts go
        to the later gt, as 2.x's loop does.
    """
    num_gts, num_bboxes = overlaps.shape
    gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
    if num_gts == 0 or num_bboxes == 0:
        if num_gts == 0:
            gt_inds[:] = 0
        labels = None if gt_labels is None else gt_inds.new_full((num_bboxes,), -1)
        return AssignResult(num_gts, gt_inds, overlaps.new_zeros((num_bboxes,)), labels)
    max_overlaps, argmax = overlaps.max(dim=0)
    gt_max, gt_argmax = overlaps.max(dim=1)
    if isinstance(neg_iou_thr, (tuple, list)):
        lo, hi = neg_iou_thr
        gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
    else:
        gt_inds[(max_overlaps >= 0) & (max_overlaps < neg_iou_thr)] = 0
    pos = max_overlaps >= pos_iou_thr
    gt_inds[pos] = argmax[pos] + 1
    if match_low_quality:
        ok = gt_max >= min_pos_iou  # (G,)
        if gt_max_assign_all:
            hit = (overlaps == gt_max[:, None]) & ok[:, None]  # (G, N)
        else:  # only the first best prior of each gt
            hit = torch.zeros_like(overlaps, dtype=torch.bool)
            hit[torch.arange(num_gts, device=overlaps.device), gt_argmax] = True
            hit &= ok[:, None]
        any_hit = hit.any(dim=0)
        last = num_gts - 1 - hit.flip(0).int().argmax(dim=0)  # the last gt in order wins
        gt_inds[any_hit] = last[any_hit] + 1
    labels = None
    if gt_labels is not None:
        labels = gt_inds.new_full((num_bboxes,), -1)
        p = gt_inds > 0
        labels[p] = gt_labels[gt_inds[p] - 1]
    return AssignResult(num_gts, gt_inds, max_overlaps, labels)


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
