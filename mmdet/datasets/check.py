"""Pre-flight check of a dataset config: every defect of the annotations and images, in one report.

:func:`check_dataset_cfg` takes a dataset config (``cfg.data.train`` etc., wrappers and lists of
annotation files included) and returns a :class:`CheckReport`: :class:`Finding` s grouped by
kind, each naming the file name, image id and annotation id of the offender, plus statistics
(instances per class, box sizes and aspect ratios, image sizes).  Three formats are read:
COCO json (:class:`CocoDataset` and subclasses), the middle format of :class:`CustomDataset`
(a pickle or json list of ``{filename, width, height, ann}``) and Pascal VOC XML
(:class:`XMLDataset`).  The files are read directly, not through the dataset classes, so the
check sees what loading would refuse, drop or silently filter.

Errors are defects that make loading fail, make training see wrong data or see nothing at all;
warnings are data that the loader drops or ignores by design (zero-size boxes, crowd boxes,
images without boxes, categories the config's ``classes`` leave out).

``images=False`` (the fast mode used before training) checks that each image file exists and is
not empty; ``images=True`` decodes each one (threads) and compares its size with the
annotation's ``width``/``height``.
"""
import copy
import difflib
import json
import math
import os
import os.path as osp
import pickle
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .builder import DATASETS, _wrapped_key

ERROR, WARNING = 'error', 'warning'

# kind -> (severity, one-line explanation shown above the group)
KINDS = OrderedDict([
    ('class_mismatch', (ERROR, "config classes missing from the annotation categories: loading fails, or nothing "
                               "is loaded and training stops with 'need at least one array to concatenate'")),
    ('no_training_data', (ERROR, "no image keeps a box of the config's classes: the training set is empty "
                                 "('need at least one array to concatenate' in the sampler)")),
    ('bad_annotation_file', (ERROR, 'annotation file missing, unreadable or not in the expected format')),
    ('duplicate_image_id', (ERROR, 'image id used by more than one image entry')),
    ('duplicate_annotation_id', (ERROR, 'annotation id used by more than one annotation')),
    ('bad_image_size', (ERROR, 'image width/height in the annotations missing or not a positive number')),
    ('missing_image', (ERROR, 'image file not found')),
    ('unreadable_image', (ERROR, 'image file empty, truncated or not an image')),
    ('size_mismatch', (ERROR, 'the decoded image size differs from the width/height in the annotations')),
    ('unknown_category', (ERROR, 'annotation of a category id/label that is not defined')),
    ('orphan_annotation', (ERROR, 'annotation of an image id that is not among the images')),
    ('malformed_box', (ERROR, 'box is not four numbers')),
    ('nonfinite_box', (ERROR, 'box has a NaN or infinite coordinate')),
    ('negative_box', (ERROR, 'box has a negative width or height')),
    ('box_outside_image', (ERROR, 'box lies entirely outside its image')),
    ('category_not_in_classes', (WARNING, "annotation categories that the config's classes leave out (their "
                                          'boxes are not trained on)')),
    ('class_without_instances', (WARNING, 'config class with no box in the annotations')),
    ('duplicate_file_name', (WARNING, 'file name used by more than one image entry')),
    ('empty_box', (WARNING, 'box under 1 px wide or high (dropped by the loader)')),
    ('box_crosses_border', (WARNING, 'box extends more than 1 px beyond its image (clipped)')),
    ('crowd_box', (WARNING, 'crowd / difficult box (ignored in training)')),
    ('image_without_boxes', (WARNING, 'image without any annotation')),
])


class Finding(dict):
    """One defect: ``kind``, ``severity``, ``message`` and, where they apply, ``ann_file``,
    ``file_name``, ``image_id``, ``ann_id`` (a dict, so it serialises to json as it is)."""

    def __init__(self, kind, message, ann_file=None, file_name=None, image_id=None, ann_id=None):
        super().__init__(kind=kind, severity=KINDS[kind][0], message=message, ann_file=ann_file,
                         file_name=file_name, image_id=_plain(image_id), ann_id=_plain(ann_id))

    def where(self):
        parts = [f'image {self["image_id"]}' if self['image_id'] is not None else None,
                 self['file_name'], f'annotation {self["ann_id"]}' if self['ann_id'] is not None else None]
        return ', '.join(p for p in parts if p is not None)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


class CheckReport:
    """Findings and statistics of one or more dataset configs (one entry per annotation file in
    ``sources``: type, ann_file, img_prefix, classes, categories, counts)."""

    def __init__(self):
        self.findings, self.sources = [], []
        self.stats = dict(instances_per_class=Counter(), box_sqrt_area=[], box_aspect_ratio=[],
                          image_sizes=Counter())

    def add(self, *args, **kwargs):
        self.findings.append(Finding(*args, **kwargs))

    @property
    def errors(self):
        return [f for f in self.findings if f['severity'] == ERROR]

    @property
    def warnings(self):
        return [f for f in self.findings if f['severity'] == WARNING]

    @property
    def ok(self):
        return not self.errors

    def by_kind(self):
        """``{kind: [findings]}`` in the order of :data:`KINDS` (errors first)."""
        groups = OrderedDict((k, []) for k in KINDS)
        for f in self.findings:
            groups[f['kind']].append(f)
        return OrderedDict((k, v) for k, v in groups.items() if v)

    def counts(self):
        return {k: len(v) for k, v in self.by_kind().items()}

    def to_dict(self):
        sqrt_area = np.asarray(self.stats['box_sqrt_area'], np.float64)
        ratio = np.asarray(self.stats['box_aspect_ratio'], np.float64)
        summary = lambda a: dict(count=int(a.size), **({} if not a.size else dict(  # noqa: E731
            min=float(a.min()), median=float(np.median(a)), max=float(a.max()))))
        return dict(
            ok=self.ok, num_errors=len(self.errors), num_warnings=len(self.warnings), counts=self.counts(),
            sources=self.sources, findings=self.findings,
            stats=dict(instances_per_class=dict(self.stats['instances_per_class']),
                       box_sqrt_area=summary(sqrt_area), box_aspect_ratio=summary(ratio),
                       image_sizes={f'{w}x{h}': n for (w, h), n in self.stats['image_sizes'].most_common()}))

    def to_text(self, max_per_kind=20):
        """The human-readable report: sources, errors then warnings grouped by kind with counts
        (``max_per_kind`` offenders listed per kind; the json has all), statistics, verdict."""
        lines = []
        for s in self.sources:
            lines.append(f"{s['type']} {s['ann_file']} (images under {s['img_prefix']}): {s['num_images']} images, "
                         f"{s['num_annotations']} boxes")
            lines.append(f"  config classes ({len(s['classes'])}): {list(s['classes'])}")
            if s.get('categories') is not None:
                lines.append(f"  annotation categories ({len(s['categories'])}): {list(s['categories'])}")
            if s.get('filtered') is not None:
                lines.append(f"  training would use {s['num_images'] - s['filtered']['total']} images: "
                             f"filter_empty_gt drops {s['filtered']['empty']} without a box of the classes, "
                             f"min_size drops {s['filtered']['small']}")
        for severity, title in ((ERROR, 'ERRORS'), (WARNING, 'WARNINGS')):
            groups = [(k, v) for k, v in self.by_kind().items() if KINDS[k][0] == severity]
            lines.append(f'{title} ({sum(len(v) for _, v in groups)})')
            for kind, items in groups:
                lines.append(f'  {kind} ({len(items)}): {KINDS[kind][1]}')
                for f in items[:max_per_kind]:
                    where = f.where()
                    lines.append(f"    {where + ': ' if where else ''}{f['message']}")
                if len(items) > max_per_kind:
                    lines.append(f'    ... and {len(items) - max_per_kind} more (all in the json report)')
        d = self.to_dict()['stats']
        lines.append('STATISTICS')
        lines.append(f"  instances per class: {d['instances_per_class']}")
        for key in ('box_sqrt_area', 'box_aspect_ratio'):
            s = d[key]
            if s['count']:
                lines.append(f"  {key}: min {s['min']:.3g}, median {s['median']:.3g}, max {s['max']:.3g} "
                             f"({s['count']} boxes)")
        sizes = list(d['image_sizes'].items())
        lines.append(f"  image sizes (w x h: images), {len(sizes)} distinct: "
                     + ', '.join(f'{k}: {n}' for k, n in sizes[:10]) + (' ...' if len(sizes) > 10 else ''))
        lines.append(f'RESULT: {len(self.errors)} error(s), {len(self.warnings)} warning(s)')
        return '\n'.join(lines)

    def write(self, out_dir):
        """``check_report.json`` and the histograms (:func:`plot_statistics`) into ``out_dir``;
        returns the paths written."""
        os.makedirs(out_dir, exist_ok=True)
        path = osp.join(out_dir, 'check_report.json')
        with open(path, 'w') as f:
            json.dump(self.to_dict(), f, indent=1, default=str)
        return [path] + plot_statistics(self, out_dir)


def plot_statistics(report, out_dir):
    """PNG histograms (matplotlib, Agg backend) of instances per class, box size (sqrt of the
    area, px), aspect ratio (width / height, log scale) and image sizes; returns the paths."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    st = report.stats
    paths = []

    def save(fig, name):
        fig.tight_layout()
        paths.append(osp.join(out_dir, name))
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)

    names, counts = list(st['instances_per_class']), list(st['instances_per_class'].values())
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(names) + 2), 3.5))
    ax.bar(range(len(names)), counts)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_ylabel('instances')
    ax.set_title('instances per class')
    save(fig, 'instances_per_class.png')
    sqrt_area = np.asarray(st['box_sqrt_area'], np.float64)
    ratio = np.asarray(st['box_aspect_ratio'], np.float64)
    ratio = ratio[ratio > 0]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(sqrt_area, bins=40)
    for edge in (32, 96):  # the COCO small / medium / large limits
        ax.axvline(edge, color='k', ls='--', lw=0.8)
    ax.set_xlabel('sqrt(box area) [px]')
    ax.set_title('box size')
    save(fig, 'box_size_hist.png')
    fig, ax = plt.subplots(figsize=(5, 3.5))
    lo, hi = (ratio.min(), ratio.max()) if ratio.size else (0.5, 2)
    ax.hist(ratio, bins=np.geomspace(min(lo, 0.5), max(hi, 2), 41))
    ax.set_xscale('log')
    ax.set_xlabel('box width / height')
    ax.set_title('box aspect ratio')
    save(fig, 'box_aspect_ratio_hist.png')
    sizes = st['image_sizes'].most_common(30)
    fig, ax = plt.subplots(figsize=(max(4, 0.35 * len(sizes) + 2), 3.5))
    ax.bar(range(len(sizes)), [n for _, n in sizes])
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels([f'{w}x{h}' for (w, h), _ in sizes], rotation=90, fontsize=7)
    ax.set_ylabel('images')
    ax.set_title('images per size (w x h)')
    save(fig, 'image_sizes.png')
    return paths


# -- reading the three formats into one shape ---------------------------------------------------
# images: [dict(id, file_name, width, height)]; anns: [dict(id, image_id, category, bbox, crowd)]
# with bbox [x, y, w, h] as written; categories: {category key: name}.

def _read_coco(ann_file, report, file_name_of):
    from .custom import AnnotationError, read_json
    data = read_json(ann_file)
    if not isinstance(data, dict) or not isinstance(data.get('images'), list) \
            or not isinstance(data.get('categories'), list):
        report.add('bad_annotation_file', 'not in COCO format: want an object with "images", "annotations" and '
                   '"categories" lists', ann_file=ann_file)
        return None
    def image(im):  # file_name as the dataset class names it (LVIS v1: from coco_url); None and why when it cannot
        out = dict(id=im.get('id'), width=im.get('width'), height=im.get('height'), file_name=None)
        try:
            out['file_name'] = file_name_of(im, ann_file)
        except KeyError as e:
            out['no_name_why'] = f'the image record has no {e.args[0]!r}'
        except AnnotationError as e:
            out['no_name_why'] = str(e)
        return out

    images = [image(im) for im in data['images'] if isinstance(im, dict)]
    categories = {c['id']: c['name'] for c in data['categories'] if isinstance(c, dict) and 'id' in c}
    anns = [dict(id=a.get('id'), image_id=a.get('image_id'), category=a.get('category_id'), bbox=a.get('bbox'),
                 crowd=bool(a.get('iscrowd', 0)), ignore=bool(a.get('ignore', False)))
            for a in data.get('annotations') or [] if isinstance(a, dict)]
    return images, anns, categories


def _read_middle(ann_file, classes, report):
    try:
        if ann_file.endswith('.json'):
            with open(ann_file) as f:
                infos = json.load(f)
        else:
            with open(ann_file, 'rb') as f:
                infos = pickle.load(f)
    except Exception as e:  # any unpickling / parsing failure is the file's defect
        report.add('bad_annotation_file', f'cannot read: {type(e).__name__}: {e}', ann_file=ann_file)
        return None
    if not isinstance(infos, list):
        report.add('bad_annotation_file', f'expected a list of image dicts, got {type(infos).__name__}',
                   ann_file=ann_file)
        return None
    images, anns = [], []
    for i, info in enumerate(infos):
        images.append(dict(id=info.get('id', i), file_name=info.get('filename'), width=info.get('width'),
                           height=info.get('height')))
        ann = info.get('ann') or {}
        for key, label_key, crowd in (('bboxes', 'labels', False), ('bboxes_ignore', 'labels_ignore', True)):
            if ann.get(key) is None:
                continue
            try:
                boxes = np.asarray(ann[key], dtype=np.float64).reshape(-1, 4)
            except (TypeError, ValueError):
                anns.append(dict(id=key, image_id=images[-1]['id'], category=0, bbox=ann[key], crowd=crowd,
                                 ignore=False))  # reported as one malformed box
                continue
            labels = np.asarray(ann.get(label_key, []) if ann.get(label_key) is not None else []).reshape(-1)
            for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
                label = labels[k].item() if k < len(labels) else None
                anns.append(dict(id=f'{key}[{k}]', image_id=images[-1]['id'], category=label,
                                 bbox=[x1, y1, x2 - x1, y2 - y1], crowd=crowd, ignore=False,
                                 unlabelled=crowd and label is None))  # ignore boxes need no labels
    if classes:
        categories = dict(enumerate(classes))
    else:  # no class names: every label seen is a category
        categories = {a['category']: str(a['category']) for a in anns if _hashable(a['category'])}
    return images, anns, categories


def _read_voc(ann_file, img_prefix, img_subdir, ann_subdir, report, file_name_of):
    from .custom import AnnotationError
    try:
        with open(ann_file) as f:
            ids = [line.strip().split()[0] for line in f if line.strip()]
    except OSError as e:
        report.add('bad_annotation_file', f'cannot read the image id list: {e.strerror or e}', ann_file=ann_file)
        return None
    images, anns = [], []
    for img_id in ids:
        xml_path = osp.join(img_prefix, ann_subdir, f'{img_id}.xml')
        file_name = osp.join(img_subdir, f'{img_id}.jpg')
        try:
            root = ET.parse(xml_path).getroot()
        except (OSError, ET.ParseError) as e:
            report.add('bad_annotation_file', f'cannot read {xml_path}: {e}', ann_file=ann_file, file_name=file_name,
                       image_id=img_id)
            continue
        try:  # as the dataset class names it (WIDER Face: from <folder>)
            file_name = file_name_of(img_id, root, img_subdir)
        except AnnotationError as e:
            report.add('bad_annotation_file', f'{xml_path}: {e}', ann_file=ann_file, file_name=file_name,
                       image_id=img_id)
            continue
        size = root.find('size')
        num = lambda node, tag: _number(node.find(tag).text if node is not None and node.find(tag) is not None  # noqa
                                        else None)
        images.append(dict(id=img_id, file_name=file_name, width=num(size, 'width') if size is not None else 'absent',
                           height=num(size, 'height') if size is not None else 'absent'))
        for k, obj in enumerate(root.findall('object')):
            name = obj.find('name')
            name = name.text.strip() if name is not None and name.text else None
            bnd = obj.find('bndbox')
            box = [num(bnd, t) for t in ('xmin', 'ymin', 'xmax', 'ymax')] if bnd is not None else None
            if box is not None and all(isinstance(v, float) for v in box):
                box = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            difficult = obj.find('difficult')
            anns.append(dict(id=f'object[{k}]', image_id=img_id, category=name, bbox=box, ignore=False,
                             crowd=difficult is not None and (difficult.text or '0').strip() not in ('0', '')))
    return images, anns, None


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _is_number(v):
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)


# -- the checks --------------------------------------------------------------------------------

def _check_classes(report, ann_file, fmt, classes, categories, anns):
    """Config classes against the annotation categories (COCO: the ``categories`` names; VOC:
    the object names); returns the set of category keys that map to a config class."""
    per_key = Counter(a['category'] for a in anns)
    if fmt == 'middle':
        return set(categories)
    if fmt == 'voc':
        categories = {n: n for n in per_key if n is not None}
    names = list(categories.values())
    by_name = defaultdict(list)
    for key, name in categories.items():
        by_name[name].append(key)
    missing = [c for c in classes if c not in by_name]
    dropped = {n: sum(per_key[k] for k in by_name[n]) for n in by_name if n not in classes}
    dropped_text = ', '.join(f"'{n}' ({c} boxes)" for n, c in dropped.items())
    if missing and fmt == 'coco':
        hints = []
        for c in missing:
            close = [n for n in names if n.lower().strip() == str(c).lower().strip()] or \
                difflib.get_close_matches(str(c), [str(n) for n in names], n=1, cutoff=0.6)
            if close:
                hints.append(f"'{c}' -> '{close[0]}'")
        report.add('class_mismatch',
                   f'the config classes {list(classes)} do not match the annotation categories {names}: '
                   f'{missing} are not among the categories'
                   + (f'; categories not in the classes: {dropped_text}' if dropped else '')
                   + (f"; did you mean {', '.join(hints)}" if hints else '')
                   + ". Fix: set classes to the categories' names exactly (spelling, case, order as you want the "
                     "labels), or rename the categories in the json", ann_file=ann_file)
    else:
        for c in missing:  # VOC (names come from the objects): a class that no object has
            report.add('class_without_instances', f"class '{c}' has no object in the annotations", ann_file=ann_file)
    if fmt == 'coco':
        for c in classes:
            if c in by_name and not sum(per_key[k] for k in by_name[c]):
                report.add('class_without_instances', f"class '{c}' (category id {by_name[c]}) has no annotation",
                           ann_file=ann_file)
    if dropped and not (missing and fmt == 'coco'):  # with a mismatch, class_mismatch names them
        report.add('category_not_in_classes', f'not in the config classes, so not trained on: {dropped_text}',
                   ann_file=ann_file)
    return {k for c in classes for k in by_name.get(c, [])}


def _check_images(report, ann_file, images, img_prefix, decode, workers):
    """Ids, file names, recorded sizes and the files; returns ``{index: (width, height)}`` of the
    real sizes (recorded, or decoded with ``decode``) of images whose size is known."""
    seen_id, seen_name = {}, {}
    sizes = {}
    for i, im in enumerate(images):
        where = dict(ann_file=ann_file, file_name=im['file_name'], image_id=im['id'])
        try:
            j = seen_id.setdefault(im['id'], i)
        except TypeError:
            j = i
        if j != i:
            report.add('duplicate_image_id', f"image id {im['id']!r} is also that of {images[j]['file_name']} "
                       f'(images[{j}] and images[{i}])', **where)
        j = seen_name.setdefault(im['file_name'], i)
        if j != i:
            report.add('duplicate_file_name', f"also listed as image {images[j]['id']} (images[{j}])", **where)
        w, h = im['width'], im['height']
        if w == 'absent':  # VOC without <size>: the decoded size is used
            pass
        elif not (_is_number(w) and _is_number(h) and w > 0 and h > 0):
            report.add('bad_image_size', f'width {w!r}, height {h!r}', **where)
        else:
            sizes[i] = (w, h)

    def probe(i):
        im = images[i]
        if not isinstance(im['file_name'], str):
            why = im.get('no_name_why', f"file name {im['file_name']!r}")
            return i, 'missing_image', f'no file name: {why}', None
        path = osp.join(img_prefix, im['file_name']) if img_prefix else im['file_name']
        if not osp.isfile(path):
            return i, 'missing_image', f'image file not found: {path}', None
        if osp.getsize(path) == 0:
            return i, 'unreadable_image', f'image file is empty (0 bytes): {path}', None
        if not decode:
            return i, None, None, None
        from .pipelines.loading import ImageReadError, imread
        try:
            img = imread(path)
        except ImageReadError as e:
            return i, 'unreadable_image', str(e), None
        return i, None, None, (img.shape[1], img.shape[0])

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for i, kind, message, real in pool.map(probe, range(len(images))):
            im = images[i]
            where = dict(ann_file=ann_file, file_name=im['file_name'], image_id=im['id'])
            if kind is not None:
                report.add(kind, message, **where)
                sizes.pop(i, None)  # boxes cannot be placed in an image that is not there
                continue
            if real is None:
                continue
            if i in sizes and tuple(sizes[i]) != real:
                w, h = sizes[i]
                turned = ' (turned by 90 degrees, as an EXIF orientation tag does)' if (h, w) == real else ''
                report.add('size_mismatch', f'decodes as {real[0]}x{real[1]} (w x h) but the annotations say '
                           f'{w:g}x{h:g}{turned}', **where)
            sizes[i] = real
    return sizes


def _check_boxes(report, ann_file, fmt, images, anns, categories, used, sizes):
    """Categories, image ids, box validity and placement (vectorised over the well-formed boxes);
    fills the statistics with the boxes the training would use."""
    index_of = {}
    for i, im in enumerate(images):
        try:
            index_of.setdefault(im['id'], i)
        except TypeError:
            pass
    seen = {}
    rows, keep = [], []
    for n, a in enumerate(anns):
        im = images[index_of[a['image_id']]] if _hashable(a['image_id']) and a['image_id'] in index_of else None
        where = dict(ann_file=ann_file, file_name=im['file_name'] if im else None, image_id=a['image_id'],
                     ann_id=a['id'])
        if fmt == 'coco':
            try:
                j = seen.setdefault(a['id'], n)
            except TypeError:
                j = n
            if j != n:
                report.add('duplicate_annotation_id', f"annotation id {a['id']!r} is used again "
                           f'(annotations[{j}] and annotations[{n}])', **where)
        if im is None:
            report.add('orphan_annotation', f"image id {a['image_id']!r} is not among the images", **where)
            continue
        if fmt != 'voc' and not a.get('unlabelled') and (not _hashable(a['category'])
                                                         or a['category'] not in categories):
            what = 'category id' if fmt == 'coco' else 'label'
            defined = sorted(categories) if fmt == 'coco' else f'[0, {len(categories)})'
            report.add('unknown_category', f"{what} {a['category']!r} is not defined (defined: {defined})", **where)
            continue
        if fmt == 'voc' and a['category'] is None:
            report.add('malformed_box', 'object without a <name>', **where)
            continue
        box = a['bbox']
        if not (isinstance(box, (list, tuple)) and len(box) == 4 and all(_is_number(v) for v in box)):
            report.add('malformed_box', f'{box!r:.80} (want [x, y, width, height], four numbers)', **where)
            continue
        rows.append([float(v) for v in box])
        keep.append((n, where))
    if not rows:
        return
    b = np.asarray(rows, np.float64).reshape(-1, 4)
    idx = np.array([index_of[anns[n]['image_id']] for n, _ in keep])
    wh = np.array([sizes.get(i, (np.nan, np.nan)) for i in idx], np.float64).reshape(-1, 2)
    finite = np.isfinite(b).all(1)
    with np.errstate(invalid='ignore'):
        negative = finite & ((b[:, 2] < 0) | (b[:, 3] < 0))
        empty = finite & ~negative & ((b[:, 2] < 1) | (b[:, 3] < 1))
        x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
        placed = finite & ~negative & ~empty & np.isfinite(wh).all(1)
        outside = placed & ((x2 <= 0) | (y2 <= 0) | (x1 >= wh[:, 0]) | (y1 >= wh[:, 1]))
        crosses = placed & ~outside & ((x1 < -1) | (y1 < -1) | (x2 > wh[:, 0] + 1) | (y2 > wh[:, 1] + 1))
    fmt_box = lambda k: '[' + ', '.join(f'{v:g}' for v in b[k]) + ']'  # noqa: E731
    kind_of = (('nonfinite_box', ~finite, 'has a NaN or infinite coordinate'),
               ('negative_box', negative, 'has a negative width or height'),
               ('empty_box', empty, 'is under 1 px wide or high'),
               ('box_outside_image', outside, 'lies outside the {w:g}x{h:g} image'),
               ('box_crosses_border', crosses, 'extends beyond the {w:g}x{h:g} image'))
    for kind, mask, text in kind_of:
        for k in np.flatnonzero(mask):
            report.add(kind, f'bbox (x, y, w, h) {fmt_box(k)} ' + text.format(w=wh[k, 0], h=wh[k, 1]), **keep[k][1])
    good = finite & ~negative & ~empty & ~outside
    for k in np.flatnonzero(good):
        a = anns[keep[k][0]]
        if a['crowd'] and (fmt != 'coco' or a['category'] in used):
            report.add('crowd_box', 'crowd box' if fmt == 'coco' else 'ignore / difficult box', **keep[k][1])
    names = categories if fmt != 'voc' else None
    for k in np.flatnonzero(good):
        a = anns[keep[k][0]]
        if a['crowd'] or a['ignore'] or a['category'] not in used:
            continue
        report.stats['instances_per_class'][names[a['category']] if names else a['category']] += 1
        report.stats['box_sqrt_area'].append(math.sqrt(b[k, 2] * b[k, 3]))
        report.stats['box_aspect_ratio'].append(b[k, 2] / b[k, 3])


def _hashable(v):
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _leaf_configs(cfg):
    """The plain dataset configs inside ``cfg`` (wrappers unwrapped, ``ann_file`` lists split)."""
    if isinstance(cfg, (list, tuple)):
        return [leaf for c in cfg for leaf in _leaf_configs(c)]
    cfg = dict(cfg)
    key = _wrapped_key(cfg)
    if key is not None:
        return _leaf_configs(cfg[key])
    if isinstance(cfg.get('ann_file'), (list, tuple)):
        out = []
        for i, ann in enumerate(cfg['ann_file']):
            c = dict(cfg, ann_file=ann)
            if isinstance(c.get('img_prefix'), (list, tuple)):
                c['img_prefix'] = c['img_prefix'][i]
            out.append(c)
        return out
    return [cfg]


def check_dataset_cfg(cfg, images=False, test_mode=None, workers=8, report=None):
    """Check the dataset(s) of a config.

    Args:
        cfg (dict | list): a dataset config as in ``cfg.data.train`` (wrappers such as
            ``RepeatDataset``/``ConcatDataset`` and lists of ``ann_file`` are unwrapped).
        images (bool): decode every image (slow; otherwise existence and non-zero size only).
        test_mode (bool | None): as the dataset's ``test_mode`` (no ``filter_empty_gt``/``min_size``
            filtering); None takes it from the config.
        workers (int): threads that stat / decode the images.
        report (CheckReport | None): add to this report instead of a new one.

    Returns:
        CheckReport: every finding and the statistics.
    """
    from .coco import CocoDataset
    from .custom import AnnotationError
    from .xml_style import XMLDataset
    report = report if report is not None else CheckReport()
    for leaf in _leaf_configs(cfg):
        leaf = copy.deepcopy(leaf)
        cls = DATASETS.get(leaf['type']) if isinstance(leaf.get('type'), str) else leaf.get('type')
        if cls is None:
            raise KeyError(f"dataset type {leaf.get('type')!r} is not registered in DATASETS")
        fmt = 'coco' if issubclass(cls, CocoDataset) else 'voc' if issubclass(cls, XMLDataset) else 'middle'
        ann_file, img_prefix, data_root = leaf['ann_file'], leaf.get('img_prefix', ''), leaf.get('data_root')
        if data_root is not None:
            ann_file = ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)
            if img_prefix is not None and not osp.isabs(img_prefix):
                img_prefix = osp.join(data_root, img_prefix)
        classes = cls.get_classes(leaf.get('classes'))
        source = dict(type=cls.__name__, ann_file=ann_file, img_prefix=img_prefix,
                      classes=list(classes) if classes is not None else [], categories=None,
                      num_images=0, num_annotations=0, filtered=None)
        report.sources.append(source)
        if fmt != 'voc' and not osp.isfile(ann_file):
            report.add('bad_annotation_file', f'annotation file not found: {ann_file}', ann_file=ann_file)
            continue
        if fmt == 'voc' and classes is None:
            report.add('bad_annotation_file', f'{cls.__name__} needs classes=(...)', ann_file=ann_file)
            continue
        try:
            read = (_read_coco(ann_file, report, cls.image_file_name) if fmt == 'coco'
                    else _read_middle(ann_file, classes, report) if fmt == 'middle'
                    else _read_voc(ann_file, img_prefix, leaf.get('img_subdir', 'JPEGImages'),
                                   leaf.get('ann_subdir', 'Annotations'), report, cls.xml_image_file))
        except AnnotationError as e:  # read_json names the file and the position
            report.add('bad_annotation_file', str(e), ann_file=ann_file)
            continue
        if read is None:
            continue
        imgs, anns, categories = read
        source.update(num_images=len(imgs), num_annotations=len(anns))
        if fmt == 'coco':
            source['categories'] = list(categories.values())
        used = _check_classes(report, ann_file, fmt, list(classes or []), categories or {}, anns)
        sizes = _check_images(report, ann_file, imgs, img_prefix, images, workers)
        for i, (w, h) in sizes.items():
            report.stats['image_sizes'][(int(w), int(h))] += 1
        for cls_name in classes or []:
            report.stats['instances_per_class'].setdefault(cls_name, 0)
        _check_boxes(report, ann_file, fmt, imgs, anns, categories or {}, used, sizes)
        # images without any annotation, and what the training-time filters would drop
        with_any = Counter(a['image_id'] for a in anns if _hashable(a['image_id']))
        with_used = Counter(a['image_id'] for a in anns if _hashable(a['image_id']) and _hashable(a['category'])
                            and a['category'] in used and not a['ignore']
                            and (fmt == 'voc' or not a['crowd']))
        for im in imgs:
            if not _hashable(im['id']) or not with_any[im['id']]:
                report.add('image_without_boxes', 'no annotation', ann_file=ann_file, file_name=im['file_name'],
                           image_id=im['id'])
        is_test = leaf.get('test_mode', False) if test_mode is None else test_mode
        if not is_test:
            filter_empty = leaf.get('filter_empty_gt', True)
            min_size = 32 if leaf.get('min_size') is None else leaf['min_size']
            empty = [im for im in imgs if filter_empty and not (_hashable(im['id']) and with_used[im['id']])]
            small = [im for im in imgs if im not in empty and all(_is_number(v) for v in (im['width'], im['height']))
                     and min(im['width'], im['height']) < min_size]
            source['filtered'] = dict(empty=len(empty), small=len(small), total=len(empty) + len(small))
            mismatch = any(f['kind'] == 'class_mismatch' and f['ann_file'] == ann_file for f in report.findings)
            if imgs and len(empty) + len(small) == len(imgs) and not mismatch:
                present = sorted({str(categories.get(a['category'], a['category']) if categories else a['category'])
                                  for a in anns if _hashable(a['category'])})
                report.add('no_training_data',
                           f'all {len(imgs)} images are dropped: {len(empty)} by filter_empty_gt (no box of the '
                           f'classes {list(classes)}; the boxes are of {present}), {len(small)} by min_size '
                           f'{min_size}', ann_file=ann_file)
    return report


def check_config(cfg, split='train', images=False, workers=8):
    """:func:`check_dataset_cfg` of ``cfg.data[split]`` (val/test in test mode, as they are built)."""
    data = cfg['data']
    if split not in data:
        raise KeyError(f"the config has no data.{split} (it has {sorted(k for k in data if isinstance(data[k], dict))})")
    return check_dataset_cfg(data[split], images=images, test_mode=None if split == 'train' else True,
                             workers=workers)
