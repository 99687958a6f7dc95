"""Bad input, as users bring it: every case gets one line that names the file and says what is wrong, exit status 2,
and no traceback; a collection skips its bad members and goes on. A property test feeds random cells."""
import math, subprocess
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pymatgen.core import Lattice, Structure
from memx.cli import main
from memx.elements import ABSORBERS
from memx.errors import MemxInputError
from memx.predictor import Predictor
from memx.predict import predict

NIO = Structure.from_spacegroup('Fm-3m', Lattice.cubic(4.177), ['Ni', 'O'], [[0, 0, 0], [.5, .5, .5]])


def poscar(lattice, species, coords) -> str:
    "POSCAR text of a cell given as raw numbers (anything, degenerate included)."
    counts = {}
    for s in species: counts[s] = counts.get(s, 0) + 1
    order = sorted(range(len(species)), key=lambda i: list(counts).index(species[i]))
    rows = [' '.join(repr(float(v)) for v in row) for row in lattice]
    return '\n'.join(['random', '1.0', *rows, ' '.join(counts), ' '.join(map(str, counts.values())), 'direct',
                      *(' '.join(repr(float(v)) for v in coords[i]) for i in order)]) + '\n'


def cif(structure) -> str:
    return structure.to(fmt='cif')


CASES = {   # name: (file name, file content, extra arguments, what the message must say)
    'zero lattice vector': ('zero.vasp', poscar([[4.2, 0, 0], [0, 0, 0], [0, 0, 4.2]], ['Ni', 'O'], [[0, 0, 0], [.5, .5, .5]]),
                            [], 'has a degenerate cell: lattice vector b is 0 A long'),
    'collinear lattice vectors': ('collinear.vasp', poscar([[4.2, 0, 0], [8.4, 0, 0], [0, 0, 4.2]], ['Ni', 'O'],
                                                           [[0, 0, 0], [.5, .5, .5]]), [], 'coplanar or collinear'),
    'near-zero volume': ('flat.vasp', poscar([[4.2, 0, 0], [0, 4.2, 0], [4.2, 4.2, 1e-5]], ['Ni', 'O'],
                                             [[0, 0, 0], [.5, .5, .5]]), [], 'has a degenerate cell'),
    'NaN in the cell': ('nan.vasp', poscar([[4.2, 0, 0], [0, math.nan, 0], [0, 0, 4.2]], ['Ni', 'O'],
                                           [[0, 0, 0], [.5, .5, .5]]), [], 'NaN or infinite'),
    'overlapping atoms': ('overlap.vasp', poscar(np.eye(3) * 4.177, ['Ni', 'O'], [[0, 0, 0], [.01, 0, 0]]), [],
                          'overlapping atoms: atoms 0 (Ni) and 1 (O) are 0.042 A apart'),
    'a site typed twice': ('twice.vasp', poscar(np.eye(3) * 4.177, ['Ni', 'Ni', 'O'], [[0, 0, 0], [0, 0, 0], [.5, .5, .5]]),
                           [], 'atoms 0 (Ni) and 1 (Ni) are 0.000 A apart'),
    'atom on its own image': ('tiny.vasp', poscar(np.eye(3) * 0.6, ['Fe'], [[0, 0, 0]]), [],
                              'atom 0 (Fe) is 0.600 A from its own periodic image'),
    'no supported absorber': ('nacl.cif', cif(Structure(Lattice.cubic(5.6), ['Na', 'Cl'], [[0, 0, 0], [.5, .5, .5]])), [],
                              f"no supported transition-metal absorber in NaCl (elements: Cl, Na); memx covers the K edges of {', '.join(ABSORBERS)}"),
    'an element memx does not cover': ('nio.cif', cif(NIO), ['--element', 'La'], "'La' is not a supported absorber"),
    'a site that is not a metal': ('nio.cif', cif(NIO), ['--site', '4'], 'site 4 is O, not a supported absorber'),
    'a site outside the structure': ('nio.cif', cif(NIO), ['--site', '99'], 'site 99 is outside a structure of 8 atoms'),
    'empty file': ('empty.cif', '', [], 'empty.cif is empty'),
    'binary file': ('binary.cif', b'\x00\x01\xff\xfe\x89PNG\r\n', [], 'it is a binary file, not a structure file'),
    'CIF without a structure': ('broken.cif', 'data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n', [],
                                'the CIF lists no atom positions'),
    'text that is no structure': ('notes.txt', 'my sample, measured on Tuesday\n', [], 'cannot read a crystal structure from'),
    'partial occupancy': ('alloy.cif', cif(Structure(Lattice.cubic(3.6), [{'Cu': .5, 'Au': .5}], [[0, 0, 0]])), [],
                          'has partial occupancy at site 0'),
    'an atom with no neighbour': ('lonely.cif', cif(Structure(Lattice.cubic(20), ['Fe'], [[0, 0, 0]])), [],
                                  'site 0 (Fe) has no neighbour within 8.0 A'),
    'a file that is not there': (None, None, [], 'no structure file at'),
    'a recipe the model does not know': ('nio.cif', cif(NIO), ['--recipe', 'FEFF 8'],
                                         "does not predict Ni in the recipe 'FEFF 8' (it predicts it in: FEFF"),
}


def write(tmp_path, name, content):
    path = tmp_path/(name or 'missing.cif')
    if content is not None:
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return path


@pytest.mark.parametrize('case', list(CASES))
def test_predict_refuses_with_one_line(case, tmp_path, capsys):
    name, content, extra, message = CASES[case]
    path = write(tmp_path, name, content)
    assert main(['predict', str(path), *extra, '-o', str(tmp_path/'out.csv'), '--plot', '']) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('memx: error: ') and len(err.splitlines()) == 1, err
    assert message in err and str(path) in err, err
    assert not (tmp_path/'out.csv').exists()


@pytest.mark.parametrize('case', ['zero lattice vector', 'overlapping atoms', 'partial occupancy'])
def test_graph_and_simulate_refuse_the_same_way(case, tmp_path, capsys):
    name, content, _, message = CASES[case]
    path = write(tmp_path, name, content)
    assert main(['graph', str(path)]) == 2
    assert main(['simulate', str(path), '-o', str(tmp_path/'runs')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(message in line and str(path) in line for line in err), err


def test_allow_overlap_overrides(tmp_path):
    name, content, _, _ = CASES['overlapping atoms']
    path = write(tmp_path, name, content)
    assert main(['predict', str(path), '--allow-overlap', '-o', str(tmp_path/'o.csv'), '--plot', '']) == 0
    assert set(pd.read_csv(tmp_path/'o.csv').element) == {'Ni'}


def test_a_collection_skips_bad_members_with_their_reason(tmp_path, caplog):
    bad = write(tmp_path, *CASES['zero lattice vector'][:2])
    good = write(tmp_path, 'nio.cif', cif(NIO))
    assert main(['predict', str(bad), str(good), '-o', str(tmp_path/'o.csv'), '--plot', '']) == 0
    assert set(pd.read_csv(tmp_path/'o.csv').structure) == {'nio'}
    assert any(str(bad) in r.getMessage() and 'degenerate cell' in r.getMessage() for r in caplog.records)


def test_cli_stderr_holds_only_memx_lines(tmp_path):
    "As a process: library warnings (pymatgen's CIF notes) come out as memx's own lines, never as source code."
    path = tmp_path/'bunsenite.cif'
    path.write_text(cif(NIO).replace('_symmetry_equiv_pos_as_xyz', '_ignored_key'))
    for args in (['predict', path, '--plot', ''], ['predict', tmp_path/'none.cif']):
        r = subprocess.run(['memx', *map(str, args)], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode in (0, 2) and r.stderr, r
        assert all(line.startswith('memx: ') for line in r.stderr.splitlines()), r.stderr
    assert (tmp_path/'bunsenite-xanes.csv').is_file()                # named after the input


def test_version():
    r = subprocess.run(['memx', '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith('memx ')


def test_python_api_raises_memx_errors(tmp_path):
    from ase import Atoms
    with pytest.raises(MemxInputError, match='no periodic 3-D cell'):
        predict(Atoms('NiO', positions=[[0, 0, 0], [2, 0, 0]]), progress=False)
    with pytest.raises(MemxInputError, match='structure #0 has overlapping atoms'):
        predict(Structure(Lattice.cubic(4.177), ['Ni', 'O'], [[0, 0, 0], [.01, 0, 0]]), progress=False)


# Property: whatever cell, species and positions a file holds, memx answers with a table or its own input error.
NUMBERS = st.one_of(st.sampled_from([0.0, 1e-9, -1e-9, 0.3, 2.0, 4.2, 7.5]), st.floats(-12, 12, allow_nan=False))
VECTOR = st.lists(NUMBERS, min_size=3, max_size=3)


@st.composite
def cells(draw):
    kind = draw(st.sampled_from(['any', 'cubic', 'repeated vector', 'zero vector', 'coplanar']))
    if kind == 'cubic':
        lattice = (np.eye(3) * draw(st.floats(0.05, 30))).tolist()
    else:
        a, b, c = draw(VECTOR), draw(VECTOR), draw(VECTOR)
        lattice = {'any': [a, b, c], 'repeated vector': [a, a, c], 'zero vector': [a, [0.0] * 3, c],
                   'coplanar': [a, b, (np.add(a, b) * draw(st.floats(-2, 2))).tolist()]}[kind]
    n = draw(st.integers(1, 6))
    species = draw(st.lists(st.sampled_from(['Ni', 'O', 'Fe', 'Cu', 'Cd', 'Na', 'H', 'S', 'U']), min_size=n, max_size=n))
    coord = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.5, math.nan, 1e-7]))
    coords = draw(st.lists(st.lists(coord, min_size=3, max_size=3), min_size=n, max_size=n))
    return lattice, species, coords


@pytest.fixture(scope='module')
def predictor():
    return Predictor.load()


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cell=cells())
def test_random_cells_give_a_table_or_a_memx_error(cell, predictor, tmp_path_factory):
    path = tmp_path_factory.mktemp('cell')/'POSCAR'
    path.write_text(poscar(*cell))
    try:
        df = predict(path, predictor=predictor, progress=False)
    except MemxInputError as e:
        assert str(e) and '\n' not in str(e)
        return
    assert np.isfinite(df.mu).all() and (df.site == 'average').any()
