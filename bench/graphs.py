"""Graph building speed on the shared data: graphs/s for both topologies, and cached load time.

Run from the repository root: `python bench/graphs.py` (needs ../shared/data).
"""
import tempfile, time
import numpy as np
from memx.shared import load_shared
from memx.graphs import GraphSpec, build_graphs, cached_graph_set

t = time.perf_counter()
records, skipped = load_shared(progress=False)
print(f'load_shared: {len(records)} spectra ({len(skipped)} skipped) in {time.perf_counter() - t:.1f} s')
pairs = [(r.structure, r.site) for r in records]
for spec in (GraphSpec('absorber'), GraphSpec('crystal')):
    t = time.perf_counter()
    graphs = build_graphs(pairs, spec, progress=False)
    dt = time.perf_counter() - t
    nodes = np.mean([g.num_nodes for g in graphs])
    print(f'{spec.topology:8s} graphs: {len(graphs)} in {dt:.2f} s = {len(graphs) / dt:.0f} graphs/s, {nodes:.1f} nodes/graph')
y = np.zeros((len(records), 111), np.float32)
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter(); cached_graph_set(records, y, cache=d, progress=False); build = time.perf_counter() - t
    t = time.perf_counter(); gset = cached_graph_set(records, y, cache=d, progress=False); load = time.perf_counter() - t
print(f'graph set of {len(gset)}: first call (build + save) {build:.2f} s, cached load {load:.2f} s')
