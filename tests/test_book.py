"The book: every chapter executes in the quick setting and the built site has a page with figures for each."
import importlib.util, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('memx_book_build', ROOT/'book'/'build.py')
build = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(build)  # book/build.py, not PyPA's `build`


@pytest.fixture(scope='module')
def site(tmp_path_factory, shared_path):
    "Execute every chapter (quick setting, fresh cache) and build the site; the built HTML folder."
    for folder in ('feff-cu', 'feff-family', 'feff-omnixas', 'experiment'):   # what the chapters read
        shared_path(folder)
    cache, out = tmp_path_factory.mktemp('book-cache'), tmp_path_factory.mktemp('book-build')
    done = subprocess.run([sys.executable, str(ROOT/'book'/'build.py'), '--quick', '--results', str(cache),
                           '--build-dir', str(out)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return build.folders(out)[2]


@pytest.mark.slow   # the site: every chapter executed and built (~12 min on 2 cores)
def test_every_chapter_page_has_its_figures(site):
    chapters = build.chapters()
    assert len(chapters) >= 10, chapters
    for name in chapters:
        page = site/'chapters'/f'{name}.html'
        assert page.is_file(), f'no page for {name}'
        html = page.read_text()
        figures = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        assert figures, f'{name} has no figure'
        for src in figures:
            assert (page.parent/src).resolve().is_file(), f'{name}: missing image {src}'
        assert 'Traceback (most recent call last)' not in html, f'{name} shows an error'
        assert 'injected-parameters' not in html, f"{name} shows papermill's injected parameters"


@pytest.mark.slow   # the site: every chapter executed and built (~12 min on 2 cores)
def test_intro_lists_every_chapter(site):
    html = (site/'intro.html').read_text()   # index.html only redirects here
    for name in build.chapters():
        assert f'chapters/{name}.html' in html, name


def test_verdict_page_first_in_the_contents_and_executed_last():
    "The verdict page reads what the other chapters record: listed first, executed after all of them (also with --only), unnumbered so the chapters keep their numbers."
    names = build.chapters()
    assert names[0] == '00_verdict', names
    assert build.execution_order(names)[-1] == '00_verdict'
    assert build.execution_order(build.pick(names, ['03', '00', '04'])) == ['03_training', '04_mixed_vs_single', '00_verdict']
    numbers = build.chapter_numbers()
    assert numbers['00_verdict'] is None
    for name, k in numbers.items():   # the verdict page links 'Chapter N' from the file's prefix
        assert k is None or k == int(name[:2]), f'{name} is numbered {k} in the contents'


@pytest.mark.slow   # the site: every chapter executed and built (~12 min on 2 cores)
def test_verdict_page_has_its_table_figure_and_limits(site):
    "The verdict page shows one table of verdicts with a row per recorded experiment, each linking its chapter's page, the per-metal figure and the box of limits."
    from bs4 import BeautifulSoup
    soup = BeautifulSoup((site/'chapters'/'00_verdict.html').read_text(), 'html.parser')
    for code in soup.select('div.cell_input'): code.decompose()   # the prose, tables and figures only
    tables = [t for t in soup.select('table') if 'verdict' in t.get_text()]
    assert tables, 'the verdict page has no table of verdicts'
    rows = tables[0].select('tbody tr')
    assert rows, 'the table of verdicts has no row'
    words = ('reproduced', 'not reproduced', 'not distinguishable', 'beyond the paper')
    for row in rows:
        assert any(w in row.get_text() for w in words), row.get_text()[:200]
        links = [a['href'] for a in row.select('a[href]')]
        assert any(re.match(r'\d\d_\w+\.html', h) and (site/'chapters'/h.split('#')[0]).is_file() for h in links), links
    assert soup.select('figure img'), 'the verdict page has no figure'
    assert soup.select('div.admonition'), 'the verdict page has no box of limits'
    assert '{doc}' not in soup.get_text() and '{glue' not in soup.get_text()


def test_sources_carry_no_outputs():
    import json
    for nb in [ROOT/'book'/'chapters'/f'{name}.ipynb' for name in build.chapters()]:
        cells = json.loads(nb.read_text())['cells']
        assert not any(c.get('outputs') for c in cells if c['cell_type'] == 'code'), f'{nb.name} has outputs'
        assert sum('parameters' in c.get('metadata', {}).get('tags', []) for c in cells) == 1, f'{nb.name}: one parameters cell'


@pytest.mark.slow   # the site: every chapter executed and built (~12 min on 2 cores)
def test_code_is_folded_and_the_setting_said(site):
    "Readers come for figures and verdicts: no page shows an unfolded code cell of more than three lines, and each says in prose which setting it ran."
    from bs4 import BeautifulSoup
    folded = {'tag_hide-input', 'tag_remove-input', 'tag_hide-cell', 'tag_remove-cell'}
    for name in build.chapters():
        soup = BeautifulSoup((site/'chapters'/f'{name}.html').read_text(), 'html.parser')
        for cell in soup.select('div.cell'):
            code = cell.select_one('div.cell_input')
            lines = code.get_text().strip().splitlines() if code else []
            assert folded & set(cell.get('class', [])) or len(lines) <= 3, f'{name}: an unfolded code cell of {len(lines)} lines'
        assert 'This page ran in the quick setting' in soup.get_text(), f'{name} does not say which setting it ran'


def test_no_typed_number_in_a_verdict():
    "Verdicts and readings come from code: a chapter's own prose never states one with a measured number typed in."
    refs = re.compile(r'(Figures?|Fig\.|Tables?|Sections?|Chapters?|Figs\.)\s[\d.,\- ]+(and\s[\d.]+)?')
    measured = re.compile(r'\d+\.\d+|\d+\s?%|\d+(\.\d+)?\s?eV')
    for name in build.chapters():
        for cell in json.loads((ROOT/'book'/'chapters'/f'{name}.ipynb').read_text())['cells']:
            if cell['cell_type'] != 'markdown': continue
            for paragraph in ''.join(cell['source']).split('\n\n'):
                if paragraph.lstrip().startswith(('**Verdict', '**Reading.**', '**Where they', '**What this run')):
                    found = measured.search(refs.sub('', paragraph))
                    assert not found, f'{name}: a number typed into a verdict: {found.group()!r} in {paragraph[:80]!r}'


def test_chapters_start_with_one_setup_and_glue_their_figures():
    "Every chapter starts with bookkit's setup (no blanket warning filter) and hands its figures to numbered captions."
    for name in build.chapters():
        cells = json.loads((ROOT/'book'/'chapters'/f'{name}.ipynb').read_text())['cells']
        code = [''.join(c['source']) for c in cells if c['cell_type'] == 'code' and 'parameters' not in c['metadata'].get('tags', [])]
        assert 'setup(' in code[0], f'{name}: the first code cell does not call bookkit.setup'
        assert not any("filterwarnings('ignore')" in c for c in code), f'{name} silences every warning'
        assert not any('plt.show()' in c for c in code), f'{name} shows a figure outside a numbered caption'


@pytest.mark.slow   # the site: every chapter executed and built (~12 min on 2 cores)
def test_figures_numbered_and_values_pasted(site):
    "Each page's figures sit in numbered, captioned figures (Figure <chapter>.<n>), and no glue role is left unrendered."
    from bs4 import BeautifulSoup
    for name, k in build.chapter_numbers().items():   # a page of an unnumbered part (the verdict page): Figure <n>
        soup = BeautifulSoup((site/'chapters'/f'{name}.html').read_text(), 'html.parser')
        number = rf'{k}\.\d+' if k else r'\d+'
        for img in soup.select('img'):
            caption = img.find_parent('figure') and img.find_parent('figure').select_one('figcaption')
            assert caption and re.match(rf'Figure {number}\b', caption.get_text(' ', strip=True)), f'{name}: a figure without a numbered caption'
        assert '{glue' not in soup.get_text(), f'{name} shows an unrendered glue role'


# The full build once failed because a chapter took every folder of shared/data/experiment for an element and broke
# when `structures/` appeared. The data grow (new crystals, new folders, notes): the readers the chapters select data
# with in the full setting must take a copy of today's data grown by folders and files nobody expected.
GROWTH = {'README.md': 'notes\n', 'notes/todo.txt': 'to compute\n', 'structures/README.md': 'structures to come\n',
          'extra_run/log.txt': 'a run that failed\n'}


def _grow(folder: Path, paths: dict = GROWTH) -> None:
    "Add unexpected files (and their folders) under `folder`."
    for rel, text in paths.items():
        (folder/rel).parent.mkdir(parents=True, exist_ok=True)
        (folder/rel).write_text(text)


@pytest.fixture(scope='module')
def grown(tmp_path_factory, shared_path):
    "A copy of a few real crystals of each shared FEFF source and part of the measured spectra with their structures, grown by unexpected folders and files at every level the book reads; with the ids a reader must find."
    import shutil
    import pandas as pd
    from memx.readers.feff import read_feff_material
    root, expected = tmp_path_factory.mktemp('shared')/'data', {}
    for source in ('feff-cu', 'feff-family'):
        src = shared_path(source)
        crystals = sorted(p.name for p in src.iterdir() if (p/'FEFF-XANES').is_dir())
        picks = crystals[:3] + [c for c in crystals if '~' in c][:1]   # an analogue too, in feff-family
        expected[source] = {r.id for c in picks for r in read_feff_material(src/c)}
        for c in picks:
            shutil.copytree(src/c, root/source/c)
        _grow(root/source)
        _grow(root/source/picks[0], {'notes.txt': 'checked\n', 'FEFF-XANES/README.txt': 'sites\n',
                                     'FEFF-XANES/000_rerun_old/log.txt': 'older run\n'})
    src = shared_path('feff-omnixas')
    table = pd.read_csv(src/'spectra.csv')
    picks = sorted(table.material.astype(str).unique())[:3]
    (root/'feff-omnixas').mkdir(parents=True)
    table[table.material.astype(str).isin(picks)].to_csv(root/'feff-omnixas'/'spectra.csv', index=False)
    for m in picks:
        shutil.copytree(src/m, root/'feff-omnixas'/m)
    expected['feff-omnixas'] = set(table[table.material.astype(str).isin(picks)]
                                   .apply(lambda r: f'{r.material}-{r.site}-{r.element}-XANES-K', axis=1))
    _grow(root/'feff-omnixas', {**GROWTH, 'spectra_old.csv': 'material,site\n'})
    src, exp = shared_path('experiment'), root/'experiment'
    for element in ('Fe', 'Zn'):
        shutil.copytree(src/element, exp/element)
    shutil.copytree(src/'structures', exp/'structures', ignore=lambda d, names: [n for n in names if not n.startswith('Fe')])
    shutil.copy2(src/'README.md', exp/'README.md')
    _grow(exp, {**GROWTH, 'Ti/README.md': 'Ti spectra to come\n', 'Fe/plots/fe_foil.png': 'not an image\n'})
    return root, expected


def test_readers_take_grown_data(grown):
    "memx's readers of the shared FEFF data (memx.readers.read_spectra, memx.shared) find every spectrum of a copy of the data grown by unexpected folders and files, and nothing else."
    from memx.readers import read_spectra
    from memx.shared import load_shared, held_out_records, FEFF_SOURCES
    root, expected = grown
    for source in FEFF_SOURCES:
        options = {'step': 0.25} if source == 'feff-omnixas' else {}
        records, _ = read_spectra(root/source, progress=False, **options)
        assert {r.id for r in records} == expected[source], source
    records, _ = load_shared(root, sources=FEFF_SOURCES, progress=False)   # chapters 1, 2: every crystal
    assert {r.id for r in records} == set().union(*expected.values())
    sample = {'feff-cu': 2, 'feff-family': 2, 'feff-omnixas': 2}           # chapters 1, 12: a seeded sample of crystals
    records, _ = load_shared(root, sources=FEFF_SOURCES, sample=sample, progress=False)
    assert {r.id for r in records} <= set().union(*expected.values())
    ids = sorted(expected['feff-family'])[:2] + sorted(expected['feff-omnixas'])[:1]   # chapters 3, 8-11, 13: a card's held-out ids
    assert {r.id for r in held_out_records(ids, root)} >= set(ids)


def test_measured_readers_take_grown_data(grown):
    "Chapter 14's selection of the measured spectra (every .xdi or .prj under experiment/, each structure file mapped by its stem) reads a copy of the folder grown by unexpected folders and files."
    from memx.measured import measured_files, normalise, read_measured, structures_by_stem
    from memx.structures import read_structure, structures_in
    exp = grown[0]/'experiment'
    files = measured_files(exp)
    assert files
    for path in files:
        g = normalise(read_measured(path))
        assert g.element in ('Fe', 'Zn'), path
    structures = structures_by_stem(exp).values()
    assert structures and all(p.parent.name == 'structures' for p in structures)
    for path in structures:
        read_structure(path)
    assert all(not isinstance(s, Exception) for _, s in structures_in(exp/'structures'))


def test_bridge_takes_grown_data(grown):
    "bookkit.bridge_materials (chapter 12, the verdict page) reads the grown copy: files and folders among the site folders that are not sites are passed over."
    sys.path.insert(0, str(ROOT/'book'/'chapters'))
    from bookkit import bridge_materials
    root = grown[0]
    found = bridge_materials(root)
    assert set(found) == {'feff-cu', 'feff-omnixas'}
    assert {*found['feff-cu'], *found['feff-omnixas']} <= {p.name for p in (root/'feff-family').iterdir()}


def test_todays_measured_spectra_all_read(shared_path):
    "Every measured spectrum and structure of today's shared experiment folder reads (chapter 14's full setting takes them all)."
    from memx.measured import measured_files, normalise, read_measured, structures_by_stem
    from memx.structures import read_structure
    exp = shared_path('experiment')
    files = measured_files(exp)
    assert files
    for path in files:
        normalise(read_measured(path))
    for path in structures_by_stem(exp).values():
        read_structure(path)
