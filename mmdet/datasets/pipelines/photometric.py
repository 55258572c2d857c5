"""Transforms that change pixel values only (boxes untouched): ``PhotoMetricDistortion`` and ``Corrupt``
(MMDetection 2.10), and the image functions of mmcv 1.x they and the AutoAugment colour transforms use.

Images are BGR, HWC.  Random numbers come from ``np.random`` in the order 2.x draws them, so one seed gives
the same distortion as 2.x.
"""
import cv2
import numpy as np

from mmdet.utils.errors import InvalidArgumentError

from .compose import PIPELINES
from .transforms import is_int, is_number, is_pair


# ---------------------------------------------------------------- image functions (mmcv 1.x semantics)
def bgr2gray(img):
    """(H, W, 3) BGR -> (H, W) gray, same dtype."""
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def adjust_color(img, alpha=1.0, beta=None, gamma=0.0):
    """``alpha * img + beta * gray(img) + gamma`` (``beta = 1 - alpha`` by default): alpha 0 gives the
    gray image, 1 the image, > 1 more saturated colours.  uint8 saturates; other dtypes are clipped to
    [0, 255]."""
    gray = np.repeat(bgr2gray(img)[..., None], 3, axis=2)
    out = cv2.addWeighted(img, alpha, gray, 1 - alpha if beta is None else beta, gamma)
    return out if out.dtype == np.uint8 else np.clip(out, 0, 255)


def adjust_brightness(img, factor=1.0):
    """``img * factor`` (a blend with a black image), clipped to [0, 255], same dtype."""
    img32 = img.astype(np.float32)
    out = cv2.addWeighted(img32, factor, np.zeros_like(img32), 1 - factor, 0)
    return np.clip(out, 0, 255).astype(img.dtype)


def adjust_contrast(img, factor=1.0):
    """A blend of the image (``factor``) with a flat image at its mean gray level (``1 - factor``),
    clipped to [0, 255], same dtype."""
    gray = bgr2gray(img)
    counts = np.histogram(gray, 256, (0, 255))[0]
    mean = round(float(np.sum(gray)) / max(int(counts.sum()), 1))
    flat = np.full(img.shape, mean, dtype=np.float32)
    out = cv2.addWeighted(img.astype(np.float32), factor, flat, 1 - factor, 0)
    return np.clip(out, 0, 255).astype(img.dtype)


def imequalize(img):
    """Histogram equalisation of each channel (PIL's ``ImageOps.equalize`` rule, as mmcv): a channel with
    a single value (or one value holding all but one step of the histogram) is left as it is.  Values are
    used as integer levels 0..255 (a float image is truncated to them)."""
    levels = np.clip(img, 0, 255).astype(np.int64)
    out = img.copy()
    for c in range(levels.shape[2]):
        channel = levels[..., c]
        hist = np.bincount(channel.ravel(), minlength=256)
        nonzero = hist[hist > 0]
        step = (nonzero.sum() - nonzero[-1]) // 255
        if step:
            lut = (np.cumsum(hist) + step // 2) // step
            out[..., c] = np.minimum(np.concatenate([[0], lut[:-1]]), 255)[channel]
    return out


def _check_range(owner, name, value, low=0):
    if not (is_pair(value) and low <= value[0] <= value[1]):
        raise InvalidArgumentError(
            f'{owner} {name} must be (lower, upper), two numbers with {low} <= lower <= upper, got {value!r}')


def check_single_img(owner, results):
    """2.x's transforms that rebuild ``results['img']`` take one image field only."""
    fields = results.get('img_fields', ['img'])
    if list(fields) != ['img']:
        raise InvalidArgumentError(f"{owner} supports only img_fields == ['img'], got {fields!r}")


@PIPELINES.register_module()
class PhotoMetricDistortion:
    """Random photometric distortion of a BGR image (SSD's; cast to float32 first if it is not, as
    2.19+), each step applied with probability 0.5, in this order:

    1. brightness: add a uniform delta in ``[-brightness_delta, brightness_delta]``;
    2. contrast (half the time here, else at step 7): multiply by a factor in ``contrast_range``;
    3. BGR -> HSV (H in degrees [0, 360), S in [0, 1]);
    4. saturation: multiply S by a factor in ``saturation_range``;
    5. hue: add a delta in ``[-hue_delta, hue_delta]`` degrees (wrapped to [0, 360]);
    6. HSV -> BGR;
    7. contrast (if not done at step 2);
    8. a random permutation of the channels.

    Values are not clipped (the image may leave [0, 255], as in 2.x).  Boxes are unchanged.

    Args:
        brightness_delta (int | float): the largest brightness shift.
        contrast_range (tuple[float]): (lower, upper) contrast factor.
        saturation_range (tuple[float]): (lower, upper) saturation factor.
        hue_delta (int | float): the largest hue shift, in degrees.
    """

    def __init__(self, brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5), hue_delta=18):
        name = type(self).__name__
        for arg, value in (('brightness_delta', brightness_delta), ('hue_delta', hue_delta)):
            if not (is_number(value) and value >= 0):
                raise InvalidArgumentError(f'{name} {arg} must be a non-negative number, got {value!r}')
        _check_range(name, 'contrast_range', contrast_range)
        _check_range(name, 'saturation_range', saturation_range)
        self.brightness_delta, self.hue_delta = brightness_delta, hue_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range

    def _contrast(self, img):
        if np.random.randint(2):
            img *= np.random.uniform(self.contrast_lower, self.contrast_upper)
        return img

    def __call__(self, results):
        name = type(self).__name__
        check_single_img(name, results)
        img = results['img']
        if img.dtype != np.float32:  # as 2.19+: 2.28's SSD configs load uint8 images
            img = img.astype(np.float32)
        if np.random.randint(2):
            img += np.random.uniform(-self.brightness_delta, self.brightness_delta)
        contrast_first = np.random.randint(2) == 1
        if contrast_first:
            img = self._contrast(img)
        img = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        if np.random.randint(2):
            img[..., 1] *= np.random.uniform(self.saturation_lower, self.saturation_upper)
        if np.random.randint(2):
            hue = img[..., 0]
            hue += np.random.uniform(-self.hue_delta, self.hue_delta)
            hue[hue > 360] -= 360
            hue[hue < 0] += 360
        img = cv2.cvtColor(img, cv2.COLOR_HSV2BGR)
        if not contrast_first:
            img = self._contrast(img)
        if np.random.randint(2):
            img = img[..., np.random.permutation(3)]
        results['img'] = img
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(brightness_delta={self.brightness_delta}, '
                f'contrast_range={(self.contrast_lower, self.contrast_upper)}, '
                f'saturation_range={(self.saturation_lower, self.saturation_upper)}, hue_delta={self.hue_delta})')


def import_imagecorruptions():
    """The optional ``imagecorruptions`` module, or an ImportError that says how to install it."""
    try:
        import imagecorruptions
    except ModuleNotFoundError as e:
        if e.name == 'pkg_resources':
            raise ImportError(
                "Corrupt: imagecorruptions 1.1.2 imports pkg_resources, which setuptools >= 81 no longer ships; "
                "install its maintained release instead: pip install --no-deps imagecorruptions-imaug "
                "scikit-image numba (or pip install 'setuptools<81')") from e
        if e.name in (None, 'imagecorruptions'):
            raise ImportError('Corrupt needs the optional package imagecorruptions: pip install --no-deps '
                              'imagecorruptions-imaug scikit-image numba (the maintained release; --no-deps keeps '
                              'opencv-python-headless)') from e
        raise ImportError(f'Corrupt: imagecorruptions failed to import: {e}') from e
    return imagecorruptions


@PIPELINES.register_module()
class Corrupt:
    """Apply one corruption of the ImageNet-C benchmark (``imagecorruptions.corrupt``) to the image,
    as 2.x's robustness benchmark does.  The image is cast to uint8 first; boxes are unchanged.

    Needs the optional ``imagecorruptions`` package (imported when the transform is built).

    Args:
        corruption (str): a name from ``imagecorruptions.get_corruption_names('all')``, e.g.
            ``'gaussian_noise'``, ``'motion_blur'``, ``'jpeg_compression'``.
        severity (int): 1 (mild) to 5 (strong).
    """

    def __init__(self, corruption, severity=1):
        name = type(self).__name__
        module = import_imagecorruptions()
        names = list(module.get_corruption_names('all'))
        if corruption not in names:
            raise InvalidArgumentError(f'{name} corruption must be one of {names}, got {corruption!r}')
        if not (is_int(severity) and 1 <= severity <= 5):
            raise InvalidArgumentError(f'{name} severity must be an int in [1, 5], got {severity!r}')
        self.corruption, self.severity = corruption, severity
        self._corrupt = module.corrupt

    def __call__(self, results):
        check_single_img(type(self).__name__, results)
        results['img'] = self._corrupt(results['img'].astype(np.uint8), corruption_name=self.corruption,
                                       severity=self.severity)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(corruption={self.corruption!r}, severity={self.severity})'
