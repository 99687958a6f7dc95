"""The book's plumbing, shared by its chapters (science code lives in `memx`): where a chapter caches its
results, the two network sizes it trains, subsets of graph sets, the recipe bridge of the shared data, and the
test spectra of a trained model."""
from __future__ import annotations
import hashlib, json
from collections import Counter
from dataclasses import replace
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from memx.data import read_spectra, shared_data_dir
from memx.graphs import GraphSet, cached_graph_set
from memx.model import MemXanes, ModelConfig
from memx.predict import Predictor
from memx.train import TrainConfig, fit, seed_everything

MODELS = {'small': ModelConfig(conv_widths=(128, 128, 128), head_width=64, dense_widths=(128, 128)),  # quick setting
          'paper': ModelConfig()}                                                                      # full setting


def results_store(chapter: str, settings: dict, quick: bool, results_dir=None) -> Path:
    "The cache folder of `chapter` for these `settings` (keyed by them), with a settings.json; prints the setting."
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    store = Path(results_dir or f"../{'_cache' if quick else 'results'}/{chapter}")/key
    store.mkdir(parents=True, exist_ok=True)
    (store/'settings.json').write_text(json.dumps(settings, indent=1))
    print(f"setting: {'quick' if quick else 'full'}", settings, f'\nresults: {store}')
    return store


def train_network(train_set, valid_set, settings: dict, seed: int, epochs: int | None = None, patience: int | None = None,
          heads: int | None = None, run_dir=None, recipes: int = 0) -> tuple[MemXanes, pd.DataFrame]:
    "A network of `settings['widths']` (layer 4 with `heads` if given; told `recipes` recipes apart) trained by `memx.train.fit`: (model, history)."
    epochs = epochs or settings['epochs']
    seed_everything(seed)
    config = replace(MODELS[settings['widths']], recipes=recipes)
    model = MemXanes(config if heads is None else replace(config, heads=heads))
    tc = TrainConfig(lr=settings['lr'], batch_size=settings['batch_size'], max_epochs=epochs,
                     patience=patience or max(10, epochs // 3), seed=seed)
    return model, fit(model, train_set, valid_set, tc, run_dir, progress=False)


def subset(gset: GraphSet, mask) -> GraphSet:
    "The graphs of `gset` where `mask` is true, as a new GraphSet."
    return GraphSet([gset[i] for i in np.flatnonzero(mask)])


def as_recipe(gset: GraphSet, index: int) -> GraphSet:
    "A copy of `gset` whose graphs all ask for recipe `index` (to predict the same sites in another recipe)."
    graphs = [gset[i] for i in range(len(gset))]
    for g in graphs: g.recipe = torch.tensor([index])
    return GraphSet(graphs)


def bridge_materials(root=None) -> dict[str, list[str]]:
    """The shared data's recipe bridge: crystals with a site in `feff-family` (FEFF 10) that `feff-cu` or
    `feff-omnixas` (FEFF 9) also computed, per FEFF 9 source (read from folder names and the table's first columns)."""
    root = Path(root or shared_data_dir())
    family = {(m.name, int(d.name.split('_')[0]), d.name.split('_')[1]) for m in (root/'feff-family').iterdir()
              if (m/'FEFF-XANES').is_dir() for d in (m/'FEFF-XANES').iterdir()}
    omni = pd.read_csv(root/'feff-omnixas'/'spectra.csv', usecols=['material', 'site', 'element'])
    in_omni = set(zip(omni.material.astype(str), omni.site.astype(int), omni.element))
    return {'feff-cu': sorted({m for m, _, el in family if el == 'Cu' and (root/'feff-cu'/m).is_dir()}),
            'feff-omnixas': sorted({m for m, s, el in family if (m, s, el) in in_omni})}


def model_test_set(model_path=None, data_dirs=None, max_test: int = 0, seed: int = 0, part: str = 'test',
                   predictor: Predictor | None = None):
    """A model bundle (default: the one shipped with memx; or `predictor`, already loaded) and the test spectra its
    card lists (`part='valid'`: its validation spectra), found in `data_dirs` (default: the shared FEFF data):
    (predictor, records, GraphSet). With `max_test`, every site of the metals with few training spectra is kept and
    a random sample of the well-trained metals' sites fills up the rest."""
    predictor = predictor or Predictor.load(model_path)
    card = predictor.card
    data = predictor.test_data([r for d in data_dirs for r in read_spectra(d, progress=False)[0]] if data_dirs else None, part)
    print(f"model: {model_path or 'the model shipped with memx'} ({card['date']}, {card['code']}; "
          f"{predictor.training_summary()}); {len(card['split'][f'{part}_ids'])} {part} spectra on its card, never used in training")
    rows = data.part('test')
    if max_test and len(rows) > max_test:
        rare = np.isin([data.records[i].element for i in rows], card.get('few_data_elements', []))
        keep = rows[rare][:max_test]
        fill = np.random.default_rng(seed).choice(rows[~rare], max(0, max_test - len(keep)), replace=False)
        rows = np.sort(np.concatenate([keep, fill]))
    records = [data.records[i] for i in rows]
    test = cached_graph_set(records, data.y[rows], predictor.spec, progress=False)
    print(f'{len(test)} {part} spectra analysed:', dict(Counter(r.element for r in records).most_common()))
    predictor.model.eval()
    return predictor, records, test
