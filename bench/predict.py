"""Speed of training and prediction on this machine, and the ratio to one FEFF10 run.

Run from the repository root: `python bench/predict.py [--no-feff]` (needs ../shared/data and the shipped model).
Prints: training graphs/s (epochs of the full network on the shared training part), prediction spectra/s for
1 structure and for 1,000 structures (graph building included, structures already in memory), and one FEFF10
fast-recipe run of a NiO site for the ratio.
"""
import argparse, logging, time
import torch
from memx.shared import load_shared
from memx.training_set import prepare
from memx.model import MemXanes
from memx.predictor import Predictor
from memx.predict import predict
from memx.examples import example_structure
from memx.fit import TrainConfig, fit, seed_everything

logging.disable(logging.WARNING)
ap = argparse.ArgumentParser(); ap.add_argument('--no-feff', action='store_true'); args = ap.parse_args()
print(f'torch {torch.__version__}, {torch.get_num_threads()} threads')

records, _ = load_shared(sources=('feff-cu', 'feff-family'), progress=False)
data = prepare(records)
graphs = data.graphs(progress=False)
seed_everything(0)
hist = fit(MemXanes(), graphs['train'], graphs['valid'], TrainConfig(max_epochs=3), progress=False)
print(f"training, first epoch (includes PyG's one-time split of the in-memory set into graphs): {hist.seconds[0]:.1f} s")
for _, h in hist.iloc[1:].iterrows():
    print(f"training, epoch {h.epoch:.0f}: {len(graphs['train'])} graphs in {h.seconds:.1f} s = {h.graphs_per_s:.0f} graphs/s")

predictor = Predictor.load()
nio = example_structure('NiO')
predict(nio, predictor=predictor, progress=False)                       # warm-up
t = time.perf_counter(); one = predict(nio, predictor=predictor, progress=False); t1 = time.perf_counter() - t
n1 = one[one.site != 'average'].groupby(['structure', 'site']).ngroups
print(f'1 structure (NiO, {n1} sites): {t1 * 1000:.0f} ms = {n1 / t1:.0f} spectra/s')

structures = list({id(r.structure): r.structure for r in data.records}.values())[:1000]
t = time.perf_counter(); many = predict(structures, predictor=predictor, progress=False); tm = time.perf_counter() - t
nm = many[many.site != 'average'].groupby(['structure', 'site']).ngroups
print(f'{len(structures)} structures ({nm} sites): {tm:.2f} s = {nm / tm:.0f} spectra/s; 1,000 sites in {1000 * tm / nm:.2f} s')

if not args.no_feff:
    from memx.feff import simulate_site
    t = time.perf_counter(); simulate_site(nio, 0, 'fast'); tf = time.perf_counter() - t
    print(f'FEFF10 fast recipe, one NiO site: {tf:.1f} s; memx is {tf * nm / tm:,.0f}x faster per site')
