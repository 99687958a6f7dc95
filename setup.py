"Package metadata comes from settings.ini (nbdev 2 convention)."
from configparser import ConfigParser
from pathlib import Path
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
reqs = lambda key: cfg.get(key, '').split()

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    long_description=Path('README.md').read_text(encoding='utf-8'), long_description_content_type='text/markdown',
    author=cfg['author'], author_email=cfg['author_email'], license='Apache-2.0', url=cfg['git_url'],
    keywords=cfg['keywords'].split(), project_urls={'Source': cfg['git_url']},
    classifiers=['Intended Audience :: Science/Research', 'Programming Language :: Python :: 3',
                 'Topic :: Scientific/Engineering :: Chemistry', 'License :: OSI Approved :: Apache Software License'], python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=['memx', 'memx.*']), include_package_data=True,
    package_data={'memx': ['weights/*']},
    install_requires=reqs('requirements'),
    extras_require={'mp': reqs('mp_requirements'), 'simulate': reqs('simulate_requirements'),
                    'experiment': reqs('experiment_requirements'), 'scale': reqs('scale_requirements'),
                    'dev': reqs('dev_requirements')},
    entry_points={'console_scripts': cfg['console_scripts'].split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
    zip_safe=False)
