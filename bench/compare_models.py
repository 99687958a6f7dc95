"""Score two model bundles on the first one's held-out test part, per element (MAE, R2), next to the baselines on
its card; the second model's spectra are interpolated onto the first one's energy windows. A second table keeps
only test sites the second model did not train on either (its own test part, or sources it never saw).

    python bench/compare_models.py NEW.pt OLD.pt
"""
import json, sys
import numpy as np
import pandas as pd
from memx.evaluate import element_of, per_element
from memx.graphs import cached_graph_set
from memx.predictor import Predictor
from memx.fit import predict_graphs
from memx.shared import held_out_records

new, old = (Predictor.load(p) for p in sys.argv[1:3])
data = new.test_data(held_out_records(new.card.split['test_ids']))
rows = data.part('test')
records = [data.records[i] for i in rows]
test = cached_graph_set(records, data.y[rows], new.spec, progress=False)
y, els = test.y.numpy(), element_of(test)
p_new = predict_graphs(new.model, test)
p_old = np.stack([np.interp(new.windows[e].energies, old.windows[e].energies, p)
                  for e, p in zip(els, predict_graphs(old.model, test))])
table = pd.concat({'new': per_element(p_new, y, els), 'old': per_element(p_old, y, els).drop(columns='n')}, axis=1)
for name, scores in new.card.test_baselines.items():
    for metric in ('mae', 'r2'):
        table[(name, metric)] = [scores.get(e, {}).get(metric, np.nan) for e in table.index]
pd.set_option('display.width', 200)
print(table.round(4).to_string())
old_sources = set(old.card.training_data['sources'])
unseen = np.array([r.id in set(old.card.split['test_ids']) or r.source not in old_sources for r in records])
fair = pd.concat({'new': per_element(p_new[unseen], y[unseen], els[unseen]),
                  'old': per_element(p_old[unseen], y[unseen], els[unseen]).drop(columns='n')}, axis=1)
print('\ntest sites neither model trained on:\n' + fair.round(4).to_string())
print('\nnew card:', json.dumps(new.card.test['all']), f"epochs {new.card.epochs_run}, best {new.card.best_epoch}")
