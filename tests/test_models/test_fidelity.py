"""The model against outputs recorded from the original implementation
(``tests/data/fidelity``; see ``tests/fidelity.py``) and the original
checkpoints' state-dict layouts."""
import glob
import json
import os.path as osp

import pytest
import torch

from mmdet.models import build_detector
from mmdet.utils import Config
from tests.fidelity import CASES, ROOT, run_case

DATA = osp.join(ROOT, 'tests', 'data', 'fidelity')
LAYOUTS = json.load(open(osp.join(DATA, 'layouts.json')))


@pytest.mark.parametrize('name', sorted(LAYOUTS))
def test_state_dict_layout_matches_original_checkpoints(name):
    """Every config of the original repository exists here under the same file
    name and builds a model whose state dict has exactly the original keys and
    shapes, so released checkpoints load with strict=True."""
    paths = glob.glob(osp.join(ROOT, 'configs', '**', name), recursive=True)
    assert paths, f'{name} is missing from configs/'
    cfg = Config.fromfile(paths[0])
    cfg.model.pretrained = None
    sd = build_detector(cfg.model).state_dict()
    assert {k: list(v.shape) for k, v in sd.items()} == LAYOUTS[name]


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(CASES, '*.npz'))), ids=osp.basename)
def test_reference_case_of_the_original_holds(path):
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    results = list(run_case(path))
    assert len(results) > 3
    failed = [f'{name}: {detail}' for name, ok, detail in results if not ok]
    assert not failed, '\n'.join(failed)
