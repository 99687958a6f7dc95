"""Predictions per second on Dask against the number of local workers, and the overhead over the in-process path.

Run from the repository root: `python bench/scale.py [--structures 300] [--chunk 32]` (needs ../shared/data and the
shipped model). Prints, in one run on the same structures (POSCAR files of the shared FEFF folders): the in-process
`predict` rate, then `memx.scale.predict_dataset` on a LocalCluster of 1 and of 2 worker processes (cluster start,
model loading and Parquet writing included), their ratios, and what that rate means for the Materials Project.
"""
import argparse, logging, os, tempfile, time
from itertools import islice
from pathlib import Path
import pandas as pd
import torch
from memx.data import shared_data_dir
from memx.predict import Predictor, predict
from memx.scale import predict_dataset, structure_sources

logging.disable(logging.WARNING)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--structures', type=int, default=300); ap.add_argument('--chunk', type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)   # one thread per worker below: compare like with like
    print(f'torch {torch.__version__}; {os.cpu_count()} CPUs; 1 thread per process')

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
    mp_sites = 300_000   # an assumption, for scale: the order of magnitude of distinct transition-metal sites in the Materials Project
    print(f'at {rates[2] / 2:.1f} sites/s per worker process, an assumed {mp_sites:,} sites take {mp_sites / (rates[2] / 2) / 3600:.1f} '
          f'core-hours: {mp_sites / (rates[2] / 2) / 3600 / (100 * 32) * 60:.1f} minutes on 100 nodes of 32 cores (if it scales linearly)')


if __name__ == '__main__':   # Dask starts its worker processes by importing this file again
    main()
