"""The outcome of an assigner (MMDetection 2.x's ``mmdet.core.bbox.assigners.assign_result``)."""
import torch


class AssignResult:
    """Which ground-truth box each of ``num_preds`` predicted boxes / priors got.

    Args:
        num_gts (int): number of gt boxes considered in the assignment.
        gt_inds (LongTensor): (num_preds,) 1-based index of the assigned gt:
            ``0`` = background (negative), ``-1`` = ignored, ``k > 0`` = gt ``k - 1``.
        max_overlaps (Tensor): (num_preds,) overlap (IoU) of each prediction with
            its assigned gt (0 where unassigned).
        labels (LongTensor | None): (num_preds,) class label of the assigned gt;
            the assigners of this toolbox put ``-1`` where ``gt_inds <= 0``.

    Attributes beyond the arguments: :attr:`num_preds`, :attr:`info` and
    user properties through :meth:`set_extra_property` /
    :meth:`get_extra_property` (2.x's interface).

    Example:
        >>> self = AssignResult(9, torch.LongTensor([-1, 1, 2, 0]),
        ...                     torch.FloatTensor([0, .5, .9, 0]), torch.LongTensor([-1, 3, 4, -1]))
        >>> str(self)
        '<AssignResult(num_gts=9, gt_inds.shape=(4,), max_overlaps.shape=(4,), labels.shape=(4,))>'
        >>> self.add_gt_(torch.LongTensor([3, 4, 5, 1, 1, 1, 1, 1, 1]))  # the gts as predictions
        >>> self.num_preds
        13
    """

    def __init__(self, num_gts, gt_inds, max_overlaps, labels=None):
        self.num_gts = num_gts
        self.gt_inds = gt_inds
        self.max_overlaps = max_overlaps
        self.labels = labels
        self._extra_properties = {}

    @property
    def num_preds(self):
        """int: the number of predictions (priors) in this assignment."""
        return len(self.gt_inds)

    @property
    def pos_mask(self):
        """BoolTensor (num_preds,): assigned to a gt."""
        return self.gt_inds > 0

    @property
    def neg_mask(self):
        """BoolTensor (num_preds,): background."""
        return self.gt_inds == 0

    def set_extra_property(self, key, value):
        """Attach a user-defined property (e.g. an assigner's extra output)."""
        if key in self.info:
            raise KeyError(f"'{key}' is already a property of this AssignResult")
        self._extra_properties[key] = value

    def get_extra_property(self, key):
        """A property set by :meth:`set_extra_property`, ``None`` when unset."""
        return self._extra_properties.get(key, None)

    @property
    def info(self):
        """dict: ``num_gts``, ``num_preds``, ``gt_inds``, ``max_overlaps``, ``labels`` and the extra properties."""
        basic = {'num_gts': self.num_gts, 'num_preds': self.num_preds, 'gt_inds': self.gt_inds,
                 'max_overlaps': self.max_overlaps, 'labels': self.labels}
        basic.update(self._extra_properties)
        return basic

    def __nice__(self):
        """str: ``num_gts`` and the shapes of the tensors."""
        parts = [f'num_gts={self.num_gts!r}']
        for name in ('gt_inds', 'max_overlaps', 'labels'):
            value = getattr(self, name)
            parts.append(f'{name}={value!r}' if value is None else f'{name}.shape={tuple(value.shape)!r}')
        return ', '.join(parts)

    def __str__(self):
        return f'<{type(self).__name__}({self.__nice__()})>'

    def __repr__(self):
        return f'<{type(self).__name__}({self.__nice__()}) at {hex(id(self))}>'

    @classmethod
    def random(cls, **kwargs):
        """A random, self-consistent AssignResult for tests and debugging.

        Keyword Args:
            rng (None | int | numpy.random.RandomState): seed or state.
            num_preds (int): number of predictions; random in [0, 16) if not given.
            num_gts (int): number of gts; random in [0, 8) if not given.
            p_ignore (float): probability that an assigned prediction is ignored
                (``gt_inds == -1``). Default 0.3.
            p_assigned (float): probability that a prediction is assigned (at most
                ``num_gts`` predictions are). Default 0.7.
            p_use_label (float | bool): probability of having ``labels`` (``True`` /
                ``False``: always / never). Default 0.5.
            num_classes (int): labels are drawn from [0, num_classes). Default 3.

        Returns:
            AssignResult: ``gt_inds`` int64 (num_preds,) in ``[-1, num_gts]``,
            ``max_overlaps`` float32 (num_preds,) in [0, 1) and 0 where
            ``gt_inds == 0``, ``labels`` int64 (num_preds,) or ``None``, -1 where
            ``gt_inds <= 0``.

        Unlike 2.10 this reads ``num_classes`` (2.10 read it from
        ``p_use_label``) and gives ``p_use_label`` its documented meaning.
        """
        from mmdet.core.bbox.demodata import ensure_rng
        unknown = set(kwargs) - {'rng', 'num_preds', 'num_gts', 'p_ignore', 'p_assigned', 'p_use_label',
                                 'num_classes'}
        if unknown:
            raise TypeError(f'AssignResult.random got unknown argument(s) {sorted(unknown)}')
        rng = ensure_rng(kwargs.get('rng'))
        num_gts = kwargs.get('num_gts')
        num_preds = kwargs.get('num_preds')
        p_ignore = kwargs.get('p_ignore', 0.3)
        p_assigned = kwargs.get('p_assigned', 0.7)
        p_use_label = kwargs.get('p_use_label', 0.5)
        num_classes = kwargs.get('num_classes', 3)
        num_gts = int(rng.randint(0, 8)) if num_gts is None else int(num_gts)
        num_preds = int(rng.randint(0, 16)) if num_preds is None else int(num_preds)
        if num_gts < 0 or num_preds < 0:
            raise ValueError(f'num_gts and num_preds must be >= 0, got {num_gts} and {num_preds}')

        gt_inds = torch.zeros(num_preds, dtype=torch.int64)
        max_overlaps = torch.zeros(num_preds, dtype=torch.float32)
        if num_gts > 0 and num_preds > 0:
            candidates = torch.from_numpy(rng.rand(num_preds) < p_assigned)
            cand_idx = torch.nonzero(candidates, as_tuple=False).view(-1)
            keep = torch.from_numpy(rng.permutation(cand_idx.numel()))[:num_gts]  # at most num_gts assigned
            assigned_idx = cand_idx[keep]
            is_assigned = torch.zeros(num_preds, dtype=torch.bool)
            is_assigned[assigned_idx] = True
            gt_inds[is_assigned] = torch.from_numpy(rng.randint(1, num_gts + 1, size=num_preds))[is_assigned]
            max_overlaps[is_assigned] = torch.from_numpy(rng.rand(num_preds).astype('float32'))[is_assigned]
            is_ignore = torch.from_numpy(rng.rand(num_preds) < p_ignore) & is_assigned
            gt_inds[is_ignore] = -1

        use_label = p_use_label if isinstance(p_use_label, bool) else bool(rng.rand() < p_use_label)
        labels = None
        if use_label:
            labels = torch.full((num_preds,), -1, dtype=torch.int64)
            pos = gt_inds > 0
            if num_classes > 0:
                labels[pos] = torch.from_numpy(rng.randint(0, num_classes, size=num_preds))[pos]
            else:
                labels[pos] = 0
        return cls(num_gts, gt_inds, max_overlaps, labels)

    def add_gt_(self, gt_labels):
        """Prepend the ``num_gts`` ground-truth boxes as predictions assigned to
        themselves (in place; samplers' ``add_gt_as_proposals``).

        Args:
            gt_labels (LongTensor): (num_gts,) labels of the gt boxes.
        """
        if len(gt_labels) != self.num_gts:
            raise ValueError(f'add_gt_ needs one label per gt: got {len(gt_labels)} labels for '
                             f'num_gts={self.num_gts}')
        device = self.gt_inds.device
        self_inds = torch.arange(1, len(gt_labels) + 1, dtype=torch.long, device=device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(len(gt_labels)), self.max_overlaps])
        if self.labels is not None:
            self.labels = torch.cat([gt_labels.to(self.labels), self.labels])
