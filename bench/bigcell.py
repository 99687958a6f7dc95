"""Big cells: an 8,000-atom NiO supercell (4,000 Ni, one symmetry-distinct) predicted by symmetry, against
the path memx took before (a graph for every Ni), each in its own process so peak memory is its own.

Run from the repository root: `python bench/bigcell.py [--repeat 10]` (the shipped model; no shared data needed).
Prints, per path: seconds for `predict` on the POSCAR (reading and checking the file included, model already
loaded), peak resident memory of the process, and the ratios of the old path to the new one.
"""
import argparse, json, resource, subprocess, sys, tempfile, time
from pathlib import Path

PATHS = {
    'by symmetry (default)': 'new',
    'by symmetry, every site listed (--all-sites)': 'all',
    'before: a graph for every site': 'old',
}


def run(mode: str, poscar: str) -> dict:
    "Time one prediction of `poscar` in this process by `mode`; peak RSS in MB."
    import logging
    logging.disable(logging.WARNING)
    from memx.predictor import Predictor
    from memx.predict import predict
    predictor = Predictor.load()
    t = time.perf_counter()
    if mode == 'old':   # what predict did before: every absorbing site's graph in one pass, then the plain mean
        from memx.sites import absorbing_sites
        from memx.structures import read_structure
        from memx.graphs import build_graphs
        from memx.fit import predict_graphs
        s = read_structure(poscar)
        sites = absorbing_sites(s)
        mu = predict_graphs(predictor.model, build_graphs([(s, i) for i in sites], predictor.spec, progress=False))
        rows, average = len(sites), mu.mean(0)
    else:
        df = predict(poscar, predictor=predictor, progress=False, all_sites=mode == 'all')
        rows, average = df[df.site != 'average'].site.nunique(), df[df.site == 'average'].mu.to_numpy()
    seconds = time.perf_counter() - t
    return {'seconds': seconds, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            'sites': int(rows), 'average': [float(v) for v in average]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repeat', type=int, default=10, help='supercell of the 8-atom NiO cell, repeat^3 times')
    ap.add_argument('--mode'); ap.add_argument('--poscar')
    args = ap.parse_args()
    if args.mode:
        print(json.dumps(run(args.mode, args.poscar))); return
    import ase.io
    from pymatgen.io.ase import AseAtomsAdaptor
    from memx.examples import example_structure
    cell = example_structure('NiO') * ((args.repeat,) * 3)
    with tempfile.TemporaryDirectory() as d:
        poscar = str(Path(d)/'POSCAR')
        ase.io.write(poscar, AseAtomsAdaptor.get_atoms(cell), format='vasp', direct=True)   # pymatgen's writer is slow here
        print(f'NiO supercell: {len(cell)} atoms, {sum(s.specie.symbol == "Ni" for s in cell)} Ni, one distinct Ni site')
        results = {}
        for label, mode in PATHS.items():
            out = subprocess.run([sys.executable, __file__, '--mode', mode, '--poscar', poscar],
                                 capture_output=True, text=True, check=True).stdout
            results[mode] = r = json.loads(out.strip().splitlines()[-1])
            print(f"{label:46s}: {r['seconds']:6.2f} s, peak {r['rss_mb']:6.0f} MB resident, {r['sites']} site(s) listed")
    new, old = results['new'], results['old']
    gap = max(abs(a - b) for a, b in zip(new['average'], old['average']))
    print(f"before / by symmetry: {old['seconds'] / new['seconds']:.1f}x the time, {old['rss_mb'] / new['rss_mb']:.1f}x the "
          f"peak memory; the two site averages differ by at most {gap:.1e} in mu")


if __name__ == '__main__':
    main()
