"The theory-to-experiment transform, formal valences, the out-of-domain ranking rule and mixtures, through the Python API."
from types import SimpleNamespace
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure
from memx.compare import compare, model_theories
from memx.examples import example_structure
from memx.mixture import fit_mixture
from memx.structures import structures_in
from memx.transform import Transform, fit_transforms, formal_valence


@pytest.fixture(scope='module')
def iron():
    "memx's predictions of four iron compounds (metal, FeO, hematite, magnetite)."
    return model_theories(['Fe', 'FeO', 'Fe2O3', 'Fe3O4'], 'Fe')


def measured_from(theory, truth: Transform):
    "A 'measurement' made from a computed spectrum by a known transform, on a wider scan than the window."
    e, y = truth.apply(theory.energy, theory.mu, formal_valence(theory.structure, theory.element)[0])
    energy = np.arange(e[0] - 40, e[-1] + 40, 0.35)
    return SimpleNamespace(energy=energy, flat=np.interp(energy, e, y, left=0.0, right=y[-1]), label=theory.name)


def metal_scan(metal) -> SimpleNamespace:
    "A normalised 'measurement' that is the metal's own computed spectrum, on a wider scan than its window."
    scan = SimpleNamespace(energy=np.arange(7050., 7250, 0.25), label='metal', element='Fe', formula='Fe', flat=None)
    scan.flat = np.interp(scan.energy, metal.energy, metal.mu, left=0.0, right=metal.mu[-1])
    return scan


def test_a_known_shift_law_and_stretch_are_recovered(iron):
    truth = Transform('Fe', iron[0].recipe, offset=3.0, slope=1.5, stretch=0.15, fwhm=3.0, damping=0.2)
    pairs = [(measured_from(t, truth), t) for t in iron]
    got = fit_transforms(pairs, [(t.name, t.name) for t in iron], [t.mu for t in iron]).transform('Fe', truth.recipe)
    assert got.slope == pytest.approx(1.5, abs=0.3) and got.offset == pytest.approx(3.0, abs=0.6)
    assert got.stretch == pytest.approx(0.15, abs=0.05) and got.fwhm == pytest.approx(3.0, abs=0.8)
    assert got.damping == pytest.approx(0.2, abs=0.1)


def test_formal_valence_and_its_fallbacks():
    assert formal_valence(example_structure('Fe'), 'Fe') == (0.0, 'element')
    assert formal_valence(example_structure('Fe2O3'), 'Fe') == (3.0, 'bond valence')
    assert formal_valence(example_structure('Fe3O4'), 'Fe')[0] == pytest.approx(8/3)
    intermetallic = Structure(Lattice.cubic(5.79), ['Fe', 'Fe', 'Al'], [[0, 0, 0], [.25, .25, .25], [.5, .5, .5]])
    assert formal_valence(intermetallic, 'Fe')[1] in ('composition guess', 'unassigned')


def test_bonded_anion_pairs_take_one_charge_off_each():
    "Pyrite is Fe2+ with S2 pairs (bond valences alone say Fe4+), a peroxide's O2 pair likewise; a carbonate's O-O is no bond."
    assert formal_valence(example_structure('FeS2'), 'Fe') == (2.0, 'anion pairs')
    peroxide = Structure(Lattice.cubic(4.0), ['Zn', 'O', 'O'], [[0, 0, 0], [.5, .5, .5 - .185], [.5, .5, .5 + .185]])   # O-O 1.48 A
    assert formal_valence(peroxide, 'Zn') == (2.0, 'anion pairs')
    assert formal_valence(example_structure('FeCO3'), 'Fe') == (2.0, 'bond valence')


def test_a_candidate_outside_the_training_domain_ranks_after_those_inside(iron):
    "The measurement is the metal's own spectrum: the metal fits best, but flagged outside the domain it ranks last."
    metal, oxide = iron[0], iron[2]
    scan = metal_scan(metal)
    inside = compare(scan, [metal, oxide], shift=0.0)
    assert list(inside.candidate) == ['Fe', 'Fe2O3'] and not inside.outside.any()
    flagged = compare(scan, [metal._replace(applicability=1.5), oxide], shift=0.0)
    assert list(flagged.candidate) == ['Fe2O3', 'Fe'] and list(flagged.outside) == [False, True]
    assert flagged.set_index('candidate').score['Fe'] < flagged.set_index('candidate').score['Fe2O3']


def test_rankings_of_one_measurement_concatenate(iron):
    "pandas compares the attrs of the tables it concatenates with ==: a ranking's, which hold arrays, are equal only to themselves."
    metal, oxide = iron[0], iron[2]
    a, b = (compare(metal_scan(metal), [metal, oxide], shift=s) for s in (0.0, 1.0))
    both = pd.concat([a, b])
    assert list(both.candidate) == [*a.candidate, *b.candidate] and both.attrs == {}
    assert pd.concat([a, a]).attrs['calibration'] == 'given shift +0.00 eV'
    label, energy, flat = a.attrs['measured']
    assert label == 'metal' and len(energy) == len(flat) and set(a.attrs['curves']) == {'Fe', 'Fe2O3'}


def test_a_reference_that_is_also_a_candidate_is_predicted_once(shared, monkeypatch):
    "The foil's structure is a candidate too: memx predicts the metal once, for the calibration and for the ranking."
    asked = []
    def counted(items, *args, **kwargs):
        asked.extend(name for item in items for name, _ in structures_in(item))
        return model_theories(items, *args, **kwargs)
    monkeypatch.setattr('memx.compare.model_theories', counted)
    fe = shared/'experiment'/'Fe'
    table = compare(fe/'Fe2O3_rt_01.xdi', ['Fe', 'Fe2O3'], calibration=[(fe/'Fe_metal_rt_01.xdi', 'Fe')])
    assert sorted(table.candidate) == ['Fe', 'Fe2O3'] and sorted(asked) == ['Fe', 'Fe2O3']


@pytest.mark.parametrize('fraction', [0.25, 0.6])
def test_mixture_of_two_measured_spectra_comes_back(shared, fraction):
    "Two measured iron spectra mixed in a known fraction, fitted with them and two decoys as standards."
    from memx.measured import normalise, read_measured
    fe = shared/'experiment'/'Fe'
    a, b, c, d = (normalise(read_measured(fe/f)) for f in ('FeO_rt_01.xdi', 'Fe2O3_rt_01.xdi', 'Fe_metal_rt_01.xdi', 'FeS2_rt_01.xdi'))
    grid = np.arange(7100., 7180, 0.25)
    curves = {name: (grid, np.interp(grid, g.energy, g.flat)) for name, g in zip(('FeO', 'Fe2O3', 'Fe', 'FeS2'), (a, b, c, d))}
    table = pd.DataFrame({'candidate': list(curves), 'outside': False, 'score': [1., 2, 3, 4]})
    table.attrs.update(measured=('mixture', grid, fraction*curves['FeO'][1] + (1 - fraction)*curves['Fe2O3'][1]), curves=curves)
    mix = fit_mixture(table).set_index('candidate').fraction
    assert set(mix.index) == {'FeO', 'Fe2O3'}
    assert mix['FeO'] == pytest.approx(fraction, abs=0.05)
