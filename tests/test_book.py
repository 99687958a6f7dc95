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
    for k, name in enumerate(build.chapters(), 1):
        soup = BeautifulSoup((site/'chapters'/f'{name}.html').read_text(), 'html.parser')
        for img in soup.select('img'):
            caption = img.find_parent('figure') and img.find_parent('figure').select_one('figcaption')
            assert caption and re.match(rf'Figure {k}\.\d+', caption.get_text(' ', strip=True)), f'{name}: a figure without a numbered caption'
        assert '{glue' not in soup.get_text(), f'{name} shows an unrendered glue role'
