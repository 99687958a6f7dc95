"""Predictions per second and FEFF sites per hour on Dask against the number of local workers, and the overheads.

Run from the repository root: `python bench/scale.py [--structures 300] [--chunk 32] [--feff-sites 4] [--documents 3000]`
(needs ../shared/data, the shipped model and, for FEFF, feff10-rs). Prints, in one run:
- predictions: on the same structures (POSCAR files of the shared FEFF folders), the in-process `predict` rate, then
  `memx.screening.predict_dataset` on a LocalCluster of 1 and of 2 worker processes (cluster start, model loading and
  Parquet writing included), their ratios, and what that rate means for the Materials Project;
- FEFF: `memx.simulate.simulate` of the same distinct sites with the `fast` recipe on 1 and on 2 local workers
  (sites per hour), and the cost Dask adds to a unit (a stand-in FEFF that returns at once, 200 sites);
- a Materials Project dump: documents per second and peak memory streaming 1/10 of a JSON Lines dump and all of it.
"""
import argparse, gzip, json, logging, os, tempfile, time, tracemalloc
from itertools import islice
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from memx.shared import shared_data_dir
from memx.predictor import Predictor
from memx.predict import predict
from memx.screening import predict_dataset, structure_sources
from memx.feff import stand_in_feff
from memx.simulate import simulate

logging.disable(logging.WARNING)
MP_SITES = 300_000      # an assumption, for scale: the order of magnitude of distinct transition-metal sites in the Materials Project
CORES = 100 * 32        # a cluster, for scale: 100 nodes of 32 cores


def bench_predict(args):
    folder = Path(tempfile.mkdtemp())/'in'; folder.mkdir()
    for name, path in islice(structure_sources([shared_data_dir()/'feff-omnixas']), args.structures):
        (folder/f'{name}.vasp').write_text(Path(path).read_text())   # a flat folder of the structures, read by every path alike
    items = list(structure_sources([folder]))

    predictor = Predictor.load()
    predict(items[0][1], predictor=predictor, progress=False)      # warm-up
    t = time.perf_counter(); sites = 0
    for _, path in items:
        df = predict(path, predictor=predictor, progress=False)
        sites += df[df.site != 'average'].groupby(['element', 'site']).ngroups
    base = time.perf_counter() - t
    print(f'in process, one structure at a time: {len(items)} structures, {sites} distinct sites in {base:.1f} s = {sites / base:.1f} sites/s')

    rates = {}
    for workers in (1, 2):
        out = Path(tempfile.mkdtemp())/'ds'
        t = time.perf_counter()
        done = predict_dataset([folder], out, workers=workers, chunk=args.chunk, progress=False)
        seconds = time.perf_counter() - t
        table = pd.read_parquet(out)
        n = table[table.site != 'average'].groupby(['structure', 'element', 'site']).ngroups
        rates[workers] = n / seconds
        print(f'Dask, {workers} worker(s), chunks of {args.chunk}: {done["structures"]} structures, {n} sites in {seconds:.1f} s = '
              f'{rates[workers]:.1f} sites/s ({seconds / base:.2f}x the in-process time)')
    print(f'2 workers / 1 worker: {rates[2] / rates[1]:.2f}x; per-unit overhead of 1 worker over in process: '
          f'{(1 / rates[1] - base / sites) * 1000:.1f} ms a site')
    core_hours = MP_SITES / (rates[2] / 2) / 3600
    print(f'at {rates[2] / 2:.1f} sites/s per worker process, an assumed {MP_SITES:,} sites take {core_hours:.1f} '
          f'core-hours: {core_hours / CORES * 60:.1f} minutes on {CORES:,} cores (if it scales linearly)')


def bench_feff(args):
    crystals = ['NiO', 'MnO', 'ZnO', 'Cu', 'Co3O4', 'Fe2O3', 'TiO2', 'CuO'][:args.feff_sites]
    rates = {}
    for workers in (1, 2):
        t = time.perf_counter()
        records, failed = simulate(crystals, Path(tempfile.mkdtemp())/'runs', settings='fast', workers=workers, progress=False)
        seconds = time.perf_counter() - t
        rates[workers] = len(records) / seconds * 3600
        print(f'FEFF 10, fast recipe, {workers} local worker(s): {len(records)} sites ({len(failed)} failed) in {seconds:.0f} s = '
              f'{rates[workers]:.0f} sites/hour')
    print(f'FEFF 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x')
    per_core = rates[2] / 2
    print(f'at {per_core:.0f} sites/hour per worker, an assumed {MP_SITES:,} sites take {MP_SITES / per_core:,.0f} core-hours: '
          f'{MP_SITES / per_core / CORES:.1f} hours on {CORES:,} cores (one site a unit: no unit is shorter than a FEFF run, so it scales '
          f'until the shared file system or the scheduler (Dask documents about 1 ms a task) is the limit)')
    many = {f'NiO-{i}': 'NiO' for i in range(200)}
    t = time.perf_counter()
    simulate(many, Path(tempfile.mkdtemp())/'runs', runner=stand_in_feff, workers=1, progress=False)
    per_unit = (time.perf_counter() - t) / len(many)
    print(f'a site as a Dask unit, FEFF itself taking no time: {per_unit * 1000:.0f} ms '
          f'(planning, writing the site, cluster start shared), {per_unit / (3600 / rates[1]) * 100:.2f} % of a fast-recipe site here')


def bench_dump(args):
    from monty.json import MontyEncoder
    from pymatgen.analysis.xas.spectrum import XAS
    from memx.examples import example_structure
    xas = XAS(np.linspace(8333, 8400, 135), np.linspace(0, 1.2, 135), example_structure('NiO'), 'Ni', 'K', absorbing_index=0)
    line = json.dumps({'material_id': 'mp-X', 'spectrum': xas.as_dict()}, cls=MontyEncoder)
    path = Path(tempfile.mkdtemp())/'mp-xanes-Ni.jsonl.gz'
    with gzip.open(path, 'wt') as f:
        for i in range(args.documents): f.write(line.replace('mp-X', f'mp-{i}') + '\n')
    for n in (args.documents // 10, args.documents):
        tracemalloc.start(); t = time.perf_counter()
        count = sum(1 for _ in islice(structure_sources([path]), n))
        seconds, peak = time.perf_counter() - t, tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
        print(f'streaming a JSON Lines dump: {count} documents in {seconds:.1f} s = {count / seconds:.0f} documents/s '
              f'(under tracemalloc), peak {peak / 1e6:.2f} MB')
    print(f'the dump as text: {args.documents * len(line) / 1e6:.0f} MB, what reading it whole would hold at least')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--structures', type=int, default=300); ap.add_argument('--chunk', type=int, default=32)
    ap.add_argument('--feff-sites', type=int, default=4, help='distinct sites of the FEFF comparison (0: skip it)')
    ap.add_argument('--documents', type=int, default=3000, help='documents of the synthetic dump')
    args = ap.parse_args()
    torch.set_num_threads(1)   # one thread per worker below: compare like with like
    print(f'torch {torch.__version__}; {os.cpu_count()} CPUs; 1 thread per process')
    if args.structures: bench_predict(args)
    if args.feff_sites: bench_feff(args)
    if args.documents: bench_dump(args)


if __name__ == '__main__':   # Dask starts its worker processes by importing this file again
    main()
