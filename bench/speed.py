"""Prediction speed, end to end and in parts, on this machine (issue: fast at every size).

    python bench/speed.py [--sites 1000] [--skip-dataset]

Prints, in one run:
- 1,000 distinct sites from a few hundred real crystals of the shared data (structures already in memory) through
  `predict()` with the shipped ensemble, beside the same crystals one `predict()` call each, and beside the raw
  forward of every network over their prebuilt graphs (what is left is the overhead around the networks);
- torch threads: the raw forward of all networks at 1 and at 2 threads for small and large batches;
- `memx predict NiO` end to end (the command, a fresh process), and its parts: importing the CLI, loading the
  model, predicting, plotting;
- an 8,000-atom NiO supercell given as a P1 CIF: `memx predict big.cif` end to end, wall time and peak memory;
- `memx predict --dataset` over the crystals' files on 1 and 2 local worker processes: sites per second.
Ratios are of figures taken in this same run.
"""
import argparse, logging, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import torch

logging.disable(logging.WARNING)


def clock(fn, repeat: int = 3) -> float:
    "Best wall time of `fn()` over `repeat` runs."
    best = float('inf')
    for _ in range(repeat):
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
    return best


def crystals(n_sites: int) -> tuple[list, list[Path]]:
    "Real crystals of the shared FEFF folders, in name order, until their distinct absorbing sites reach `n_sites`."
    from memx.shared import shared_data_dir
    from memx.sites import absorbing_sites, equivalent_sites
    from memx.structures import read_structure
    root, structures, paths, sites = shared_data_dir(), [], [], 0
    folders = sorted(p for src in ('feff-cu', 'feff-family') for p in (root/src).iterdir() if '~' not in p.name and (p/'POSCAR').is_file())
    for folder in folders[::3]:
        s = read_structure(folder/'POSCAR')
        structures.append(s); paths.append(folder/'POSCAR')
        sites += len(equivalent_sites(s, absorbing_sites(s)))
        if sites >= n_sites: break
    return structures, paths, sites


def bench_many(args):
    from memx.fit import predict_graphs
    from memx.graphs import site_graphs
    from memx.predict import predict
    from memx.predictor import Predictor
    from memx.sites import absorbing_sites, equivalent_sites
    predictor = Predictor.load()
    structures, paths, sites = crystals(args.sites)
    print(f'{len(structures)} crystals, {sites} distinct absorbing sites; {len(predictor.members)} networks; '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads by default')
    predict(structures[:3], predictor=predictor, progress=False)                        # warm-up
    batched = clock(lambda: predict(structures, predictor=predictor, progress=False))
    one = clock(lambda: [predict(s, predictor=predictor, progress=False) for s in structures], 1)
    graphs = [g for s in structures for g in site_graphs(s, list(equivalent_sites(s, absorbing_sites(s))), predictor.spec)]
    raw = clock(lambda: [predict_graphs(m, graphs) for m in predictor.members])
    print(f'predict(), all crystals in one call: {batched:.2f} s ({sites / batched:.0f} sites/s; 1,000 sites in {1000 * batched / sites:.2f} s)')
    print(f'predict(), one call per crystal:    {one:.2f} s ({one / batched:.1f}x the batched call)')
    print(f'raw forward of every network over the prebuilt graphs: {raw:.2f} s (the batched call is {batched / raw:.1f}x it)')
    before = torch.get_num_threads()
    for size in (4, 32, 256, 1024):
        part = graphs[:size]
        t = {n: (torch.set_num_threads(n), clock(lambda: [predict_graphs(m, part) for m in predictor.members], 5))[1] for n in (1, 2)}
        print(f'  threads, {size:4d} graphs x {len(predictor.members)} networks: 1 thread {t[1] * 1000:7.1f} ms, '
              f'2 threads {t[2] * 1000:7.1f} ms ({t[1] / t[2]:.2f}x)')
    torch.set_num_threads(before)
    return paths, sites


def bench_command(args):
    memx = shutil.which('memx') or sys.exit('memx is not installed (pip install -e .)')
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        subprocess.run([memx, 'predict', 'NiO', '-o', f'{d}/n.csv', '--plot', f'{d}/n.png'], check=True, capture_output=True)
        total = time.perf_counter() - t
    parts = subprocess.run([sys.executable, '-c', '''
import time; t = time.perf_counter(); import memx.cli; t1 = time.perf_counter()
from memx.predict import predict; from memx.plots import plot_predictions; from memx.predictor import Predictor; t2 = time.perf_counter()
p = Predictor.load(); t3 = time.perf_counter(); df = predict('NiO', predictor=p, progress=False); t4 = time.perf_counter()
import tempfile; plot_predictions(df, tempfile.mktemp(suffix='.png')); t5 = time.perf_counter()
print(f"import memx.cli {t1 - t:.2f} s, import torch, pymatgen and the rest {t2 - t1:.2f} s, load the model {t3 - t2:.2f} s, "
      f"predict {t4 - t3:.2f} s, plot {t5 - t4:.2f} s")'''], check=True, capture_output=True, text=True).stdout.strip()
    print(f'memx predict NiO, end to end: {total:.2f} s; its parts: {parts}')


def bench_big_cif(args):
    import ase.io
    from pymatgen.io.ase import AseAtomsAdaptor
    from memx.examples import example_structure
    cell = example_structure('NiO') * (10, 10, 10)
    with tempfile.TemporaryDirectory() as d:
        ase.io.write(f'{d}/big.cif', AseAtomsAdaptor.get_atoms(cell), format='cif')
        t = time.perf_counter()
        peak = subprocess.run([sys.executable, '-c', f"""
import resource, sys; from memx.cli import main
code = main(['predict', '{d}/big.cif', '-o', '{d}/b.csv', '--plot', ''])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024); sys.exit(code)"""],
                              check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        total = time.perf_counter() - t
    print(f'memx predict on an {len(cell):,}-atom P1 CIF: {total:.2f} s end to end (a fresh process), peak {float(peak):.0f} MB resident')


def bench_dataset(args, paths, sites):
    from memx.screening import predict_dataset
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            predict_dataset([str(p) for p in paths], d, workers=workers, progress=False)
            took = time.perf_counter() - t
        print(f'memx predict --dataset, {workers} worker(s): {sites} sites in {took:.1f} s = {sites / took:.0f} sites/s '
              f'(cluster start and a model load per worker included)')


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--sites', type=int, default=1000); ap.add_argument('--skip-dataset', action='store_true')
    args = ap.parse_args()
    paths, sites = bench_many(args)
    bench_command(args)
    bench_big_cif(args)
    if not args.skip_dataset: bench_dataset(args, paths, sites)
