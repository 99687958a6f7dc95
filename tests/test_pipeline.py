"From the shared data to graphs: every spectrum is kept or skipped with a reason, never lost."
import gzip, json
from collections import Counter
import numpy as np
import pandas as pd
import pytest
from monty.json import MontyEncoder
from pymatgen.analysis.xas.spectrum import XAS
from pymatgen.core import Lattice, Structure
from memx.readers import read_spectra
from memx.readers.feff import read_feff_tree
from memx.readers.paper import read_paper_dataset
from memx.readers.mp import read_mp_documents, download_mp_xanes
from memx.shared import load_shared
from memx.training_set import prepare
from memx.errors import MemxInputError
from memx.graphs import GraphSpec


@pytest.fixture(scope='module')
def family(shared_path):
    return read_feff_tree(shared_path('feff-family'), progress=False)


def test_feff_family_reads_every_site(shared_path, family):
    records, skipped = family
    on_disk = len(list(shared_path('feff-family').glob('*/FEFF-XANES/*/xmu.dat')))
    assert len(records) + len(skipped) >= on_disk and len(records) > 300
    assert all(r.structure[r.site].specie.symbol == r.element for r in records)
    analogues = [r for r in records if '~' in r.material]
    assert analogues and all(r.source == 'analogue' for r in analogues)
    assert {r.element for r in analogues if r.element == 'Tc'} == {'Tc'}


def test_prepare_accounts_for_every_spectrum(family):
    records, _ = family
    data = prepare(records)
    lost = data.counts['input'] - data.counts['on grid']
    reasons = Counter(s.reason.split(' ')[0] for s in data.skipped)
    assert lost.sum() == len(data.skipped), (lost.sum(), reasons)
    assert (data.counts[['train', 'valid', 'test']].sum(axis=1) == data.counts['on grid']).all()
    part_of = {}
    for part, ids in data.split.items():
        for r in data.records:
            if r.id in ids: part_of.setdefault(r.parent, set()).add(part)
    assert all(len(parts) == 1 for parts in part_of.values())          # no crystal in two parts
    graphs = data.graphs(GraphSpec(), progress=False)
    assert sum(len(g) for g in graphs.values()) == len(data.records)
    assert graphs['train'][0].y.shape == (1, 111)


def test_paper_sample_matches_its_window(shared_path):
    records, skipped = read_paper_dataset(shared_path('mem-xanes-paper', 'tinydata'), progress=False)
    assert len(records) == 20 and not skipped
    assert {r.energies[0] for r in records} == {7112.0} and all(len(r.mu) == 111 for r in records)


def _doc(material='mp-19009'):
    nio = Structure.from_spacegroup('Fm-3m', Lattice.cubic(4.177), ['Ni', 'O'], [[0, 0, 0], [.5, .5, .5]])
    xas = XAS(np.linspace(8333, 8400, 135), np.linspace(0, 1.2, 135), nio, 'Ni', 'K', absorbing_index=2)
    return {'material_id': material, 'spectrum_id': f'{material}-XANES-Ni-K', 'edge': 'K',
            'spectrum_type': 'XANES', 'absorbing_element': 'Ni', 'spectrum': xas.as_dict()}


def test_mp_documents_round_trip(tmp_path):
    path = tmp_path/'docs.json.gz'
    with gzip.open(path, 'wt') as f:
        json.dump([_doc(), {**_doc('mp-2'), 'edge': 'L3'}], f, cls=MontyEncoder)
    records, skipped = read_mp_documents(path)
    assert [r.id for r in records] == ['mp-19009-2-Ni-XANES-K']
    assert len(skipped) == 1 and 'not a K-edge XANES' in skipped[0].reason


class _FakeDoc:
    def __init__(self, d): self.d = d
    def model_dump(self, mode): return json.loads(json.dumps(self.d, cls=MontyEncoder))


class _FakeRester:
    "Stands in for mp_api's MPRester: records the query, answers with one recorded document."
    calls = []
    def __init__(self, api_key=None): self.api_key = api_key
    def __enter__(self): return self
    def __exit__(self, *a): return False
    @property
    def materials(self): return self
    @property
    def xas(self): return self
    def search(self, **kw):
        _FakeRester.calls.append(kw)
        return [_FakeDoc(_doc())]


def test_download_mp_xanes_writes_a_readable_dump(tmp_path, monkeypatch):
    import mp_api.client
    monkeypatch.setattr(mp_api.client, 'MPRester', _FakeRester)
    out = download_mp_xanes(['Ni'], tmp_path/'ni.json.gz', api_key='KEY')
    assert str(_FakeRester.calls[-1]['absorbing_element']) == 'Ni'
    assert 'K' in str(_FakeRester.calls[-1]['edge']) and 'XANES' in str(_FakeRester.calls[-1]['spectrum_type'])
    records, skipped = read_mp_documents(out)
    assert len(records) == 1 and not skipped and records[0].source == 'materials-project'


def test_short_spectra_keep_their_element(shared, shared_path):
    "The OmniXAS table's 35-eV spectra get 111-point windows of their own instead of being dropped by a 55-eV one."
    shared_path('feff-omnixas')
    records, skipped = load_shared(shared, sources=('feff-omnixas',), sample={'feff-omnixas': 300}, progress=False)
    data = prepare(records)
    assert set(data.elements()) == {'Co', 'Cr', 'Ni', 'Ti', 'V'}
    for el in data.elements():
        assert data.counts.loc[el, 'on grid'] == data.counts.loc[el, 'filtered'] > 0, data.counts
        w = data.windows[el]
        assert w.n == 111 and w.step < 0.5 and 33 < w.end - w.start <= 35.5, w
    assert (data.counts['input'] - data.counts['on grid']).sum() == len(data.skipped)


def test_download_mp_elements_one_file_each_and_resumable(tmp_path, monkeypatch):
    import mp_api.client
    from memx.readers.mp import download_mp_elements
    monkeypatch.setattr(mp_api.client, 'MPRester', _FakeRester)
    monkeypatch.delenv('MP_API_KEY', raising=False)
    with pytest.raises(MemxInputError, match='API key is needed'):
        download_mp_elements(['Ni'], tmp_path)
    monkeypatch.setenv('MP_API_KEY', 'KEY')
    before = len(_FakeRester.calls)
    paths = download_mp_elements(['Ni', 'Co'], tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mp-xanes-Co.jsonl.gz', 'mp-xanes-Ni.jsonl.gz'] == sorted(p.name for p in paths.values())
    assert len(_FakeRester.calls) == before + 2
    download_mp_elements(['Ni', 'Co', 'Fe'], tmp_path, progress=False)   # only Fe is fetched
    assert len(_FakeRester.calls) == before + 3 and [str(c['absorbing_element']) for c in _FakeRester.calls[-1:]] == ['Fe']
    records, _ = read_mp_documents(paths['Ni'])
    assert len(records) == 1
    (tmp_path/'.part-mp-xanes-Cu.jsonl.gz').write_text('{"half": ')          # a download cut short is not read
    records, skipped = read_spectra(tmp_path, progress=False)         # what `memx train DIR` reads: every dump
    assert len(records) == 3 and not skipped


def test_batched_prediction_equals_one_structure_at_a_time(shared_path):
    "Real crystals predicted in one call (their sites batched across structures, in chunks) give each crystal's own table."
    from memx.predict import predict
    from memx.predictor import default_predictor
    from memx.structures import read_structure
    folders = sorted(p for p in shared_path('feff-cu').iterdir() if (p/'POSCAR').is_file())[::20][:120]
    crystals = [read_structure(f/'POSCAR') for f in folders]
    predictor = default_predictor()
    together = predict(crystals, predictor=predictor, progress=False, chunk=100)
    alone = pd.concat([predict(c, predictor=predictor, progress=False) for c in crystals], ignore_index=True)
    assert len(together) == len(alone) and together.structure.nunique() == len(crystals)
    for column in ('mu', 'mu_std', 'mu_lower', 'mu_upper', 'applicability'):
        assert np.allclose(together[column], alone[column], atol=1e-5, equal_nan=True), column
    assert (together[['site', 'element', 'multiplicity', 'note']].values == alone[['site', 'element', 'multiplicity', 'note']].values).all()
