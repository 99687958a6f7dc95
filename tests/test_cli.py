"The `memx` command as a user runs it: real processes, real files, exit codes and messages."
import subprocess, sys
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from memx.predict import SHIPPED


def memx(*args, cwd=None):
    return subprocess.run(['memx', *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_graph_uses_file_site_order(shared):
    cif = shared/'mem-xanes-paper'/'cif'/'mp-19704-56-Mo-XANES-K.cif'
    r = memx('graph', cif, '--site', 56)
    assert r.returncode == 0, r.stderr
    assert 'site 56 Mo: 21 nodes, 20 edges' in r.stdout and 'nearest: O 1.7' in r.stdout


def test_shipped_model_is_in_the_package():
    assert SHIPPED.is_file() and SHIPPED.stat().st_size < 10e6


def test_predict_example_writes_csv_and_plot(tmp_path):
    r = memx('predict', 'NiO', '-o', tmp_path/'nio.csv', '--plot', tmp_path/'nio.png')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(tmp_path/'nio.csv')
    assert set(df.site.astype(str)) == {'0', 'average'} and set(df.multiplicity) == {4}   # one distinct Ni of four
    avg = df[df.site.astype(str) == 'average']
    assert len(avg) == 111 and avg.energy_eV.between(8300, 8420).all() and avg.mu.max() > 0.5
    assert (tmp_path/'nio.png').stat().st_size > 10_000


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
