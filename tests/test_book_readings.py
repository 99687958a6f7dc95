"""Readings of the book are built from the tables they describe: fast checks of the functions that write them (no
chapter is executed)."""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'book'/'chapters'))
bookkit = pytest.importorskip('bookkit')


def test_ranked_names_the_table_s_closest_and_farthest():
    "Chapter 11's table (median MAE after the shift: metals closest, oxides farthest) must not be read as 'oxides closest'."
    table = {'oxide': 0.154, 'no anion (metal)': 0.063, 'chalcogenide': 0.065}
    words = bookkit.ranked(table)
    assert words.startswith('no anion (metal) 0.063 (closest)')
    assert words.endswith('oxide 0.154 (farthest)')
    assert 'oxide 0.154 (closest)' not in words
    assert words.index('chalcogenide') < words.index('oxide')                   # the table's order, lowest first
    assert bookkit.ranked({'oxide': 0.1}) == 'oxide 0.100'                       # one group: neither closest nor farthest
    assert bookkit.ranked({'a': float('nan')}, none='no case') == 'no case'
    assert bookkit.ranked({'a': 2, 'b': 1}, low='best', high='worst', fmt='{:.0f}') == 'b 1 (best), a 2 (worst)'


def test_chapter_11_reads_its_classes_through_ranked():
    "Chapter 11 words its class comparison with `ranked` over the class table, types no class as closest, and records its verdict."
    cells = json.loads((ROOT/'book'/'chapters'/'11_validation.ipynb').read_text())['cells']
    code = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'code')
    prose = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')
    assert 'ranked(' in code and 'record_verdict(' in code
    assert not re.search(r'(oxide|metal|sulfide|chalcogenide)s?[^.\n]{0,60}\b(the )?(closest|farthest)', prose, re.I), \
        'a class of compound is called closest or farthest in typed prose'
    assert 'max_shift = 8.0' not in code, 'the energy search range is derived from the bridge, not a fixed 8 eV'
