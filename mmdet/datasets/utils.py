"""Pipeline helpers at their 2.x paths (``mmdet.datasets.replace_ImageToTensor``, ``get_loading_pipeline``)."""
import copy
import warnings

# the loading steps get_loading_pipeline keeps (2.x: LoadImageFromFile and LoadAnnotations)
LOADING_TYPES = ('LoadImageFromFile', 'LoadImageFromWebcam', 'LoadMultiChannelImageFromFiles', 'LoadAnnotations')


def replace_ImageToTensor(pipelines):  # noqa: N802 (2.x's name)
    """A copy of the test ``pipelines`` with every ``ImageToTensor`` (also inside ``MultiScaleFlipAug``)
    replaced by ``DefaultFormatBundle``, so that several test images can be batched: their tensors go into
    stacked DataContainers that collate pads, as 2.x's ``tools/test.py`` does for ``samples_per_gpu > 1``.

    Args:
        pipelines (list[dict]): pipeline step configs.

    Returns:
        list[dict]: the new step configs (the input is not modified); a warning names each replacement.
    """
    out = copy.deepcopy(pipelines)
    for i, step in enumerate(out):
        if step['type'] == 'MultiScaleFlipAug':
            if 'transforms' not in step:
                raise KeyError('replace_ImageToTensor: a MultiScaleFlipAug step has no "transforms"')
            step['transforms'] = replace_ImageToTensor(step['transforms'])
        elif step['type'] == 'ImageToTensor':
            warnings.warn('"ImageToTensor" pipeline is replaced by "DefaultFormatBundle" for batch inference. '
                          'It is recommended to manually replace it in the test data pipeline in your config '
                          'file.', UserWarning)
            out[i] = {'type': 'DefaultFormatBundle'}
    return out


def get_loading_pipeline(pipeline):
    """The loading steps of ``pipeline`` (image and annotation loading), as 2.x, e.g. for a dataset that
    re-reads its images in analysis tools.

    Args:
        pipeline (list[dict]): pipeline step configs.

    Returns:
        list[dict]: copies of the loading steps, in order.

    Raises:
        ValueError: when the pipeline has no loading step.
    """
    steps = [copy.deepcopy(s) for s in pipeline if s['type'] in LOADING_TYPES]
    if not steps:
        raise ValueError(f'get_loading_pipeline: no loading step ({", ".join(LOADING_TYPES)}) in the pipeline '
                         f'{[s["type"] for s in pipeline]}')
    return steps
