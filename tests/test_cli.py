"The `memx` command as a user runs it: real processes, real files, exit codes and messages."
import subprocess
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from memx.predictor import SHIPPED, Predictor


def memx(*args, cwd=None):
    return subprocess.run(['memx', *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_graph_uses_file_site_order(shared_path):
    cif = shared_path('mem-xanes-paper', 'cif', 'mp-19704-56-Mo-XANES-K.cif')
    r = memx('graph', cif, '--site', 56)
    assert r.returncode == 0, r.stderr
    assert 'site 56 Mo: 21 nodes, 20 edges' in r.stdout and 'nearest: O 1.7' in r.stdout


def test_shipped_model_is_in_the_package():
    from memx.predictor import Predictor
    networks = len(Predictor.load(SHIPPED).members)
    assert SHIPPED.is_file() and SHIPPED.stat().st_size < 6e6 * networks   # float16 weights: under 6 MB a network


def test_predict_example_writes_csv_and_plot(tmp_path):
    r = memx('predict', 'NiO', '-o', tmp_path/'nio.csv', '--plot', tmp_path/'nio.png')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path/'nio.csv')
    assert set(df.site.astype(str)) == {'0', 'average'} and set(df.multiplicity) == {4}   # one distinct Ni of four
    avg = df[df.site.astype(str) == 'average']
    assert len(avg) == 111 and avg.energy_eV.between(8300, 8420).all() and avg.mu.max() > 0.5
    assert (tmp_path/'nio.png').stat().st_size > 10_000


def test_shipped_predictions_carry_an_interval_and_a_domain_check(tmp_path):
    "The shipped ensemble: NiO (an oxide, like its training crystals) inside the training domain with a calibrated interval; the sulfide NiS2 (pyrite type) outside it, said in the note and on stderr."
    path = tmp_path/'NiS2.cif'
    Structure.from_spacegroup('Pa-3', Lattice.cubic(5.68), ['Ni', 'S'], [[0, 0, 0], [.395, .395, .395]]).to(filename=str(path))
    r = memx('predict', 'NiO', path, '-o', tmp_path/'x.csv', '--plot', '')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path/'x.csv')
    nio, sulfide = df[df.structure == 'NiO'], df[df.structure == 'NiS2']
    assert (nio.mu_lower < nio.mu).all() and (nio.mu < nio.mu_upper).all() and (nio.applicability <= 1).all()
    assert nio.note.isna().all()
    assert len(sulfide) and (sulfide.applicability > 1).all() and sulfide.note.str.contains('outside the training domain').all()
    assert 'NiS2: Ni site 0 lies outside what the model was trained on' in r.stderr


@pytest.mark.parametrize('content, message', [
    ('Na', 'no supported transition-metal absorber in NaCl'),
    ('partial', 'partial occupancy'),
    ('broken', 'cannot read a crystal structure'),
])
def test_bad_structures_exit_2_with_a_reason(tmp_path, content, message):
    path = tmp_path/'x.cif'
    if content == 'Na':
        Structure(Lattice.cubic(5.6), ['Na', 'Cl'], [[0, 0, 0], [.5, .5, .5]]).to(filename=str(path))
    elif content == 'partial':
        Structure(Lattice.cubic(3.6), [{'Cu': .5, 'Au': .5}], [[0, 0, 0]]).to(filename=str(path))
    else:
        path.write_text('data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n')
    r = memx('predict', path, '-o', tmp_path/'o.csv', '--plot', '')
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr


def test_missing_file_and_missing_weights(tmp_path):
    r = memx('predict', tmp_path/'none.cif')
    assert r.returncode == 2 and 'no structure file' in r.stderr
    r = memx('predict', 'NiO', '--model', tmp_path/'none.pt')
    assert r.returncode == 2 and 'no model weights' in r.stderr


@pytest.fixture
def toy_tree(tmp_path):
    "A FEFF tree of 24 strained NiO cells whose edge follows the lattice constant."
    import numpy as np
    from memx.readers.feff import write_feff_site
    for n, a in enumerate(np.linspace(3.9, 4.5, 24)):
        nio = Structure.from_spacegroup('Fm-3m', Lattice.cubic(a), ['Ni', 'O'], [[0, 0, 0], [.5, .5, .5]])
        e = np.arange(8328, 8400, 0.5)
        write_feff_site(tmp_path/'tree', f'toy-{n}', nio, 0, e, 1 / (1 + np.exp(-(e - 8333 - 10 * (a - 4)))))
    return tmp_path/'tree'


def test_train_then_fine_tune(tmp_path, toy_tree):
    "`memx train` makes a model from a FEFF tree; `--init` fine-tunes it, keeping its windows and test crystals."
    from memx.predictor import Predictor
    first = memx('train', toy_tree, '-o', tmp_path/'a.pt', '--run-dir', tmp_path/'r1', '--epochs', 2, '--batch-size', 8)
    assert first.returncode == 0, first.stderr
    tuned = memx('train', toy_tree, '--init', tmp_path/'a.pt', '-o', tmp_path/'b.pt', '--run-dir', tmp_path/'r2',
                 '--epochs', 1, '--batch-size', 8)
    assert tuned.returncode == 0, tuned.stderr
    a, b = Predictor.load(tmp_path/'a.pt'), Predictor.load(tmp_path/'b.pt')
    worse = a.card.test['all']['mae'] >= a.card.test_baselines['element mean']['all']['mae']   # two epochs on a toy: it may be
    assert worse == ("no better than each element's mean training spectrum" in first.stderr), first.stderr
    assert all(np.isfinite(t) for t in a.card.applicability['thresholds'].values()) or 'applicability empty' in first.stderr
    assert b.windows == a.windows and set(a.card.split['test_ids']) <= set(b.card.split['test_ids'])
    assert b.card.fine_tuned_from['date'] == a.card.date and b.card.epochs_run == 1
    assert b.training_summary().startswith('2 epochs') and 'then fine-tuned 1 epoch ' in b.training_summary()


@pytest.mark.slow   # four training runs and a prediction
def test_train_an_ensemble_gives_intervals(tmp_path, toy_tree):
    "`memx train --ensemble 2` writes one bundle of two networks whose predictions carry a spread and an interval."
    r = memx('train', toy_tree, '--ensemble', 2, '-o', tmp_path/'e.pt', '--run-dir', tmp_path/'r', '--epochs', 1, '--batch-size', 8)
    assert r.returncode == 0, r.stderr
    assert 'inside the 90 % interval' in r.stdout and (tmp_path/'r'/'member1'/'last.pt').exists()
    p = memx('predict', 'NiO', '--model', tmp_path/'e.pt', '-o', tmp_path/'nio.csv', '--plot', '')
    assert p.returncode == 0, p.stderr
    df = pd.read_csv(tmp_path/'nio.csv')
    assert (df.mu_std > 0).all() and (df.mu_lower <= df.mu).all() and (df.mu <= df.mu_upper).all()
    g = memx('train', toy_tree, '--init', tmp_path/'e.pt', '--add', 1, '-o', tmp_path/'g.pt', '--run-dir', tmp_path/'r',
             '--epochs', 1, '--batch-size', 8)                      # grow it: a third network, on the same split
    assert g.returncode == 0, g.stderr
    grown = Predictor.load(tmp_path/'g.pt')
    assert len(grown.members) == 3 and (tmp_path/'r'/'member2'/'last.pt').exists()
    assert [m['seed'] for m in grown.card.members] == [0, 1, 2] and grown.card.ensemble.added == 1
    bad = memx('train', toy_tree, '--add', 1, '-o', tmp_path/'x.pt')
    assert bad.returncode == 2 and '--add N grows the ensemble given by --init' in bad.stderr


def test_compare_ranks_candidates_against_a_measured_spectrum(tmp_path, shared_path):
    "memx compare as the README shows it: a measured Cu spectrum, three candidates, the copper foil as the one reference."
    cu = shared_path('experiment', 'Cu')
    r = memx('compare', cu/'CuO_tenorite_13K_01.xdi', 'CuO', 'Cu', 'CuS', '--calibration', f"{cu/'cu_metal_rt.xdi'}=Cu",
             '-o', tmp_path/'rank.csv', '--plot', tmp_path/'rank.png')
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(tmp_path/'rank.csv')
    assert sorted(table.candidate) == ['Cu', 'CuO', 'CuS'] and list(table['rank']) == [1, 2, 3]
    assert {'score', 'mae', 'shape', 'shift_eV', 'aligned_shift_eV', 'edge_diff_eV', 'valence', 'valence_source',
            'applicability', 'outside', 'score_spread'} <= set(table.columns)
    assert not {'pearson', 'e0_diff_eV'} & set(table.columns)               # the old method's columns are gone
    inside = table[~table.outside]                                          # inside the training domain first, by score
    assert list(inside.index) == list(range(len(inside))) and inside.score.is_monotonic_increasing
    assert dict(zip(table.candidate, table.valence)) == pytest.approx({'Cu': 0, 'CuO': 2, 'CuS': 4/3})   # covellite: two S of three in S2 pairs
    out = r.stdout.splitlines()
    transform = next(line for line in out if line.strip().startswith('transform:'))
    assert 'per valence unit' in transform and 'fitted on Cu (file cu_metal_rt) = Cu' in transform
    assert any('reliability unknown: the calibration has fewer than two Cu reference structures' in line for line in out)
    assert any(line.strip().startswith(('separated:', 'a toss-up:')) for line in out)
    assert any(line.strip().startswith('pre-edge ') for line in out)
    assert (tmp_path/'rank.png').stat().st_size > 10_000


def test_compare_says_each_warning_once(tmp_path, shared_path):
    "Ni metal, outside the training domain, is both the reference and a candidate: its warning is said once."
    ni = shared_path('experiment', 'Ni')
    r = memx('compare', ni/'NiOH2_rt_01.xdi', 'NiO', 'Ni', '--calibration', f"{ni/'Ni_metal_rt_01.xdi'}=Ni",
             '-o', tmp_path/'rank.csv', '--plot', '')
    assert r.returncode == 0, r.stderr
    said = [line for line in r.stderr.splitlines() if 'lies outside what the model was trained on' in line]
    assert len(said) == 1, r.stderr


@pytest.fixture(scope='module')
def fe_calibration(tmp_path_factory, shared_path):
    "`memx calibrate` on three Fe references measured together (metal, hematite, magnetite): (its run, the file)."
    fe, path = shared_path('experiment', 'Fe'), tmp_path_factory.mktemp('cal')/'fe-cal.json'
    r = memx('calibrate', f"{fe/'Fe_metal_rt_01.xdi'}=Fe", f"{fe/'Fe2O3_rt_01.xdi'}=Fe2O3", f"{fe/'Fe3O4_rt_01.xdi'}=Fe3O4",
             '-o', path)
    assert r.returncode == 0, r.stderr
    return r, path


def test_calibrate_writes_a_file_that_compare_uses(tmp_path, shared_path, fe_calibration):
    "Calibrate once on references, then rank a sample with the saved file: the shift follows each candidate's valence."
    from memx.transform import Calibration
    r, path = fe_calibration
    assert f'calibration written to {path}' in r.stdout and 'per valence unit' in r.stdout
    assert '(file Fe2O3_rt_01) = Fe2O3: valence +3.00 (bond valence)' in r.stdout
    assert '(file Fe_metal_rt_01) = Fe: valence +0.00 (element)' in r.stdout
    assert 'Fe: ' in r.stdout and 'references ranked their own structure first among 3' in r.stdout
    cal = Calibration.load(path)
    assert cal.elements() == ['Fe'] and len(cal.references) == 3 and set(cal.reliability) == {'Fe'}
    law = next(iter(cal.transforms.values()))
    assert law.slope > 0                                   # an oxidised iron's edge lies higher: the shift grows with valence
    c = memx('compare', shared_path('experiment', 'Fe', 'FeO_rt_01.xdi'), 'FeO', 'Fe', 'Fe2O3', '--calibration', path,
             '-o', tmp_path/'rank.csv', '--plot', '')
    assert c.returncode == 0, c.stderr
    table = pd.read_csv(tmp_path/'rank.csv')
    assert sorted(table.candidate) == ['Fe', 'Fe2O3', 'FeO'] and list(table['rank']) == [1, 2, 3]
    assert np.allclose(table.shift_eV, law.offset + law.slope*table.valence)   # the saved law, at each candidate's valence
    assert table.shift_eV.nunique() == 3
    assert 'transform:' in c.stdout and 'fitted on Fe metal' in c.stdout
    assert "Fe rankings on the calibration's references:" in c.stdout
    assert f"ranking written to {tmp_path/'rank.csv'}" in c.stdout and not list(tmp_path.glob('*mixture*'))


def test_compare_mixture_writes_its_table_beside_the_ranking(tmp_path, shared_path, fe_calibration):
    _, path = fe_calibration
    r = memx('compare', shared_path('experiment', 'Fe', 'Fe3O4_rt_01.xdi'), 'FeO', 'Fe2O3', 'Fe', '--calibration', path,
             '--mixture', '-o', tmp_path/'rank.csv', '--plot', '')
    assert r.returncode == 0, r.stderr
    mix = pd.read_csv(tmp_path/'rank-mixture.csv')
    assert list(mix.columns) == ['candidate', 'fraction', 'fraction_err', 'weight']
    assert 1 <= len(mix) <= 3 and set(mix.candidate) <= {'FeO', 'Fe2O3', 'Fe'} and abs(mix.fraction.sum() - 1) < 1e-9
    assert (mix.fraction > 0).all() and (mix.fraction_err >= 0).all()
    line = next(line for line in r.stdout.splitlines() if line.startswith('mixture of '))
    assert line.startswith(f'mixture of {len(mix)}: {mix.candidate[0]} ') and 'alone' in line
    assert f"mixture written to {tmp_path/'rank-mixture.csv'}" in r.stdout


@pytest.fixture(scope='module')
def cu_calibration(tmp_path_factory, shared_path):
    "A calibration on two Cu references (another element, and the Cu model's recipe)."
    cu, path = shared_path('experiment', 'Cu'), tmp_path_factory.mktemp('cal')/'cu-cal.json'
    r = memx('calibrate', f"{cu/'cu_metal_rt.xdi'}=Cu", f"{cu/'CuO_tenorite_13K_01.xdi'}=CuO", '-o', path)
    assert r.returncode == 0, r.stderr
    return path


@pytest.mark.parametrize('case, message', [
    ('another element', 'the calibration has no Fe reference and none in the recipe'),
    ('missing file', 'no calibration file at'),
    ('not a calibration', 'not a memx calibration file'),
    ('file and pairs', '--calibration takes one calibration file, or MEASURED=STRUCTURE pairs, not both'),
    ('mixture of one', 'a mixture needs at least two components'),
    ('calibrate a file', 'memx calibrate takes MEASURED=STRUCTURE pairs'),
    ('calibrate a missing reference', 'no measured spectrum at'),
])
def test_calibration_bad_input_exits_2_with_one_line(tmp_path, request, shared_path, case, message):
    fe = shared_path('experiment', 'Fe')
    sample, calibration = fe/'FeO_rt_01.xdi', tmp_path/'none.json'
    if case == 'another element': calibration = request.getfixturevalue('cu_calibration')
    elif case == 'not a calibration': calibration.write_text('{"a": 1}')
    elif case == 'mixture of one': calibration = request.getfixturevalue('fe_calibration')[1]
    if case.startswith('calibrate'):
        refs = [tmp_path/'cal.json'] if case == 'calibrate a file' else [f"{tmp_path/'none.xdi'}=Fe"]
        r = memx('calibrate', *refs, '-o', tmp_path/'out.json')
        assert not (tmp_path/'out.json').exists()
    else:
        extra = [f"{fe/'Fe_foil.xdi'}=Fe"] if case == 'file and pairs' else []
        extra += ['--mixture', '1'] if case == 'mixture of one' else []
        r = memx('compare', sample, 'FeO', 'Fe', '--calibration', calibration, *extra, '-o', tmp_path/'r.csv', '--plot', '')
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path/'r-mixture.csv').exists() and not (tmp_path/'r.csv').exists()   # refused before any work


def test_calibrate_reference_without_a_structure_is_a_usage_error(tmp_path):
    "A reference must name its structure: argparse refuses a bare file (exit 2, its usage, then one error line)."
    r = memx('calibrate', tmp_path/'foo.xdi', '-o', tmp_path/'x.json')
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('memx calibrate: error: argument REF=STRUCTURE:') and 'expected MEASURED=STRUCTURE' in last
    assert r.stderr.startswith('usage: memx calibrate') and not (tmp_path/'x.json').exists()


@pytest.mark.parametrize('case, message', [
    ('no calibration', 'give an energy calibration'),
    ('wrong element', 'is a Cu K-edge spectrum, not Fe'),
    ('unreadable', 'cannot read junk.xdi'),
    ('no edge', 'no Cu K edge in it'),
])
def test_compare_bad_input_exits_2_with_one_line(tmp_path, request, case, message):
    extra = ['--shift', '0']
    if case in ('no calibration', 'wrong element'):   # a measured spectrum of the shared data; the others need none
        measured = request.getfixturevalue('shared_path')('experiment', 'Cu', 'CuO_tenorite_13K_01.xdi')
        if case == 'wrong element': extra += ['--element', 'Fe']
        else: extra = []
    elif case == 'unreadable':
        measured = tmp_path/'junk.xdi'; measured.write_text('# XDI/1.0\nnot numbers at all\n')
    else:   # a scan of the pre-edge region only: the edge at 8979 eV is outside it
        measured = tmp_path/'below.txt'
        measured.write_text('\n'.join(f'{e} {0.01*e/8000}' for e in range(8700, 8950, 2)))
        extra += ['--element', 'Cu']
    r = memx('compare', measured, 'CuO', *extra, '-o', tmp_path/'r.csv', '--plot', '')
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_predict_plot_of_many_structures_is_split_over_pages_not_cut(tmp_path):
    "Thirteen structures are more panels than one figure holds: every one is written, on numbered PNG pages, and stderr says so."
    from PIL import Image
    from memx.examples import EXAMPLES
    names = list(EXAMPLES)[:12] + ['Co']          # Co metal, last, lies outside the training domain
    r = memx('predict', *names, '-o', tmp_path/'p.csv', '--plot', tmp_path/'p.png')
    assert r.returncode == 0, r.stderr
    pages = sorted(tmp_path.glob('p-*.png'))
    assert [p.name for p in pages] == ['p-1.png', 'p-2.png'] and not (tmp_path/'p.png').exists()
    drawn = [panel.split()[0] for p in pages for panel in Image.open(p).text['Description'].split('; ')]
    assert drawn == names                             # every structure, once, in order
    assert 'more than one figure holds (12): written on 2 files' in r.stderr
    assert f"{tmp_path/'p-1.png'} (NiO to Fe)" in r.stderr and f"{tmp_path/'p-2.png'} (Co)" in r.stderr
