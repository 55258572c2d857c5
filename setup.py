import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name):
    with open(osp.join(osp.dirname(__file__), 'requirements', name)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith(('#', '-'))]


def get_version():
    scope = {}  # mmdet/version.py imports nothing, so it runs without the package (and its dependencies)
    with open(osp.join(osp.dirname(__file__), 'mmdet', 'version.py')) as f:
        exec(compile(f.read(), 'mmdet/version.py', 'exec'), scope)
    return scope['__version__']


setup(
    name='vfnet',
    version=get_version(),
    description='VarifocalNet (CVPR 2021) with an MMDetection-2.x compatible toolbox on PyTorch + torchvision',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests')),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt'), 'optional': read_requirements('optional.txt'),
                    'deploy': read_requirements('deploy.txt'),
                    'all': read_requirements('tests.txt') + read_requirements('optional.txt')
                    + read_requirements('deploy.txt')},
    classifiers=[
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
    ],
    zip_safe=False,
)
