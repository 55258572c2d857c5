"""Former home of the assigner registry and :class:`AssignResult`, kept as an import path.

The registry is defined in :mod:`mmdet.core.bbox.builder`, the result in
:mod:`mmdet.core.bbox.assigners.assign_result` (2.x's paths).
"""
from ..builder import BBOX_ASSIGNERS, build_assigner
from .assign_result import AssignResult
from .base_assigner import BaseAssigner

__all__ = ['BBOX_ASSIGNERS', 'build_assigner', 'AssignResult', 'BaseAssigner']
