"""The book's plumbing, shared by its chapters (science code lives in `memx`): the setup every chapter starts with,
the few readings that turn numbers into words (a paired interval, a compound's class), values and figures glued
into the page's markdown, where a chapter caches its results, the two network sizes it trains, subsets of graph
sets, the recipe bridge of the shared data, and the test spectra of a trained model."""
from __future__ import annotations
import hashlib, importlib, json, logging, os, re, warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path
import numpy as np
import pandas as pd
import torch

# Known-noisy warnings the chapters trigger, each silenced by category and message (every other warning shows); installed
# when bookkit is imported, before memx imports tqdm, so a chapter imports bookkit before memx:
QUIET = [
    # tqdm.auto in a kernel without ipywidgets: memx's progress bars are off in the book anyway
    ('tqdm', 'TqdmWarning', r'IProgress not found'),
    # umap runs single-threaded when given a seed (Chapter 8 seeds it, for reproducible maps)
    ('builtins', 'UserWarning', r'n_jobs value .* overridden to 1 by setting random_state'),
    # pymatgen's CrystalNN on structures without oxidation states (Chapter 11's first shells): it falls back to radii
    ('builtins', 'UserWarning', r'No oxidation states specified on sites'),
    ('builtins', 'UserWarning', r'CrystalNN: cannot locate an appropriate radius'),
]
for _module, _category, _message in QUIET:
    warnings.filterwarnings('ignore', message=_message, category=getattr(importlib.import_module(_module), _category))

from memx.readers import read_spectra
from memx.shared import held_out_records, shared_data_dir, SHARED_SOURCES
from memx.readers.feff import read_feff_material
from memx.evaluate import edge_position
from memx.graphs import GraphSet, cached_graph_set
from memx.model import MemXanes, ModelConfig
from memx.predictor import Predictor
from memx.fit import TrainConfig, fit, seed_everything

BOOK = Path(__file__).resolve().parents[1]   # book/: its style file, data/ and _toc.yml


def setup(precision: int = 4, grid: bool = False, **pandas_options) -> Path:
    """Every chapter's first call: the book's figure style (sharp, readable), tables with `precision` digits (and any
    other `pandas_options`, e.g. `max_colwidth=None`) and memx's log at errors only; the known-noisy warnings of
    `QUIET`, and no other, are silenced when bookkit is imported. `grid`: a light grid on every axes. Returns the
    book's folder, relative to the working directory (`..` from a chapter)."""
    import matplotlib.pyplot as plt
    from matplotlib_inline.backend_inline import set_matplotlib_formats
    logging.getLogger('memx').setLevel(logging.ERROR)
    plt.style.use(BOOK/'book.mplstyle'); set_matplotlib_formats('retina')
    if grid: plt.rcParams.update({'axes.grid': True, 'grid.alpha': 0.3})
    pd.set_option('display.precision', precision)
    for name, value in pandas_options.items():
        pd.set_option(f'display.{name}', value)
    return Path(os.path.relpath(BOOK))


def verdict(lo: float, hi: float, than: bool = False) -> str:
    """How a 95 % interval [`lo`, `hi`] of a difference of errors, A minus B (e.g. `memx.evaluate.paired_difference`'s
    last two values), reads for A: 'better' when all of it lies below zero, 'worse' when all of it lies above,
    else 'not distinguishable'. `than`: the words to set before B ('better than', 'worse than', 'not
    distinguishable from')."""
    word = 'better' if hi < 0 else 'worse' if lo > 0 else 'not distinguishable'
    return word + ((' from' if word == 'not distinguishable' else ' than') if than else '')


NONMETALS = {'H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'As', 'Se', 'Br', 'Te', 'I'}
COMPOUND_CLASSES = ('oxide', 'chalcogenide', 'other anion', 'no anion (metal)')


def compound_class(crystal) -> str:
    """The class of a compound, one of `COMPOUND_CLASSES`: 'oxide' if it contains O, else 'chalcogenide' with S, Se or
    Te, else 'other anion' with another nonmetal (halides, nitrides, carbides, ...), else 'no anion (metal)'.
    `crystal`: element symbols, a pymatgen Composition or Structure, or a record with a `.structure`."""
    crystal = getattr(crystal, 'structure', crystal)
    crystal = getattr(crystal, 'composition', crystal)
    species = {getattr(el, 'symbol', el) for el in (crystal.elements if hasattr(crystal, 'elements') else crystal)}
    if 'O' in species: return 'oxide'
    if species & {'S', 'Se', 'Te'}: return 'chalcogenide'
    return 'other anion' if species & NONMETALS else 'no anion (metal)'


def is_oxide(crystal) -> bool:
    "Whether `crystal` (as `compound_class` takes it) is an oxide: contains oxygen."
    return compound_class(crystal) == 'oxide'


def band(value: float, lo: float, hi: float, below: str, within: str, above: str) -> str:
    "Which of three words `value` earns: `below` under `lo`, `above` over `hi`, else `within` (the band counts its ends)."
    return below if value < lo else above if value > hi else within


def names(items, none: str = 'none') -> str:
    "`items` as a comma-separated list in words, or `none` when there are none."
    items = [str(i) for i in items]
    return ', '.join(items) if items else none


def ranked(values, low: str = 'closest', high: str = 'farthest', fmt: str = '{:.3f}', none: str = 'none') -> str:
    """`values` (label -> number, e.g. a table's median MAE per class) in words from the lowest to the highest, the
    lowest marked `low` and the highest `high`: 'metal 0.063 (closest), sulfide 0.065, oxide 0.154 (farthest)'. A
    reading that names its groups through this follows the table's own order and cannot contradict it."""
    s = pd.Series(values, dtype=float).dropna().sort_values(kind='stable')
    words = [f'{k} {fmt.format(v)}' for k, v in s.items()]
    if len(words) > 1: words[0], words[-1] = f'{words[0]} ({low})', f'{words[-1]} ({high})'
    return ', '.join(words) if words else none


def plain(value):
    "`value` as a plain Python value (numpy scalars to int, float, bool or str), so that `{glue:text}` can format it."
    return value.item() if isinstance(value, np.generic) else value


def glued(**values) -> None:
    """Glue every value (numpy scalars made plain) under its name without displaying it, for the page's markdown:
    `{glue:text}`name:.4f`` (an IPython `Markdown` value: `{glue:md}`name``)."""
    from myst_nb import glue
    for name, value in values.items():
        glue(name, plain(value), display=False)


def figure(name: str, fig=None) -> None:
    """Glue a matplotlib figure (default: the current one) as `name`, for a numbered, captioned `{glue:figure}` in the
    page's markdown, and close it so that it is not also shown under its code cell."""
    import matplotlib.pyplot as plt
    from myst_nb import glue
    fig = fig or plt.gcf()
    glue(name, fig, display=False)
    plt.close(fig)


MODELS = {'small': ModelConfig(conv_widths=(128, 128, 128), head_width=64, dense_widths=(128, 128)),  # quick setting
          'paper': ModelConfig()}                                                                      # full setting


def network_words(widths: str, epochs=None) -> str:
    """The network `MODELS[widths]` in words from its own widths (and `epochs`, a number or text, if given), for a
    chapter to say what its setting trains: 'the small-width network (graph convolutions 128, 128, 128; 3-head
    attention, 64 per head; dense 128, 128), 40 epochs'."""
    c = MODELS[widths]
    words = (f"the {widths}-width network (graph convolutions "
             f"{', '.join(map(str, c.conv_widths))}; {c.heads}-head attention, {c.head_width} per head; dense "
             f"{', '.join(map(str, c.dense_widths))})")
    return words + (f', {epochs} epochs' if epochs is not None else '')


def results_store(chapter: str, settings: dict, quick: bool, results_dir=None) -> Path:
    "The cache folder of `chapter` for these `settings` (keyed by them), with a settings.json; prints the setting."
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    store = Path(results_dir or f"../{'_cache' if quick else 'results'}/{chapter}")/key
    store.mkdir(parents=True, exist_ok=True)
    (store/'settings.json').write_text(json.dumps(settings, indent=1))
    print(f"setting: {'quick' if quick else 'full'}", settings, f'\nresults: {store}')
    return store


def train_network(train_set, valid_set, settings: dict, seed: int, epochs: int | None = None, patience: int | None = None,
          heads: int | None = None, run_dir=None, n_recipes: int = 0) -> tuple[MemXanes, pd.DataFrame]:
    "A network of `settings['widths']` (layer 4 with `heads` if given; told `n_recipes` recipes apart) trained by `memx.fit.fit`: (model, history)."
    epochs = epochs or settings['epochs']
    seed_everything(seed)
    config = replace(MODELS[settings['widths']], n_recipes=n_recipes)
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
    site = re.compile(r'(\d+)_([A-Z][a-z]?)')   # a site folder, <NNN>_<El>; any other file or folder there is not a site
    family = {(m.name, int(s[1]), s[2]) for m in (root/'feff-family').iterdir() if (m/'FEFF-XANES').is_dir()
              for d in (m/'FEFF-XANES').iterdir() if d.is_dir() and (s := site.fullmatch(d.name))}
    omni = pd.read_csv(root/'feff-omnixas'/'spectra.csv', usecols=['material', 'site', 'element'])
    in_omni = set(zip(omni.material.astype(str), omni.site.astype(int), omni.element))
    return {'feff-cu': sorted({m for m, _, el in family if el == 'Cu' and (root/'feff-cu'/m).is_dir()}),
            'feff-omnixas': sorted({m for m, s, el in family if (m, s, el) in in_omni})}



def bridge_edge_gaps(root=None) -> pd.DataFrame:
    """The two recipes' energy scales on the bridge: per site computed both ways (element, material, site), the FEFF 9
    SCF edge minus the FEFF 10 no-SCF edge in eV (`gap_eV`; NaN where an edge cannot be located)."""
    root = Path(root or shared_data_dir())
    bridge = bridge_materials(root)
    f10 = {(r.material, r.site, r.element): r for m in bridge['feff-cu'] + bridge['feff-omnixas']
           for r in read_feff_material(root/'feff-family'/m)}
    f9 = [r for m in bridge['feff-cu'] for r in read_feff_material(root/'feff-cu'/m)] + read_spectra(
        root/'feff-omnixas', progress=False, materials=bridge['feff-omnixas'], **SHARED_SOURCES['feff-omnixas'])[0]
    return pd.DataFrame([{'element': r.element, 'material': r.material, 'site': r.site,
                          'gap_eV': edge_position(r.mu, r.energies)[0] - edge_position(f10[k].mu, f10[k].energies)[0]}
                         for r in f9 if (k := (r.material, r.site, r.element)) in f10])

def model_test_set(model_path=None, data_dirs=None, max_test: int = 0, seed: int = 0, part: str = 'test',
                   predictor: Predictor | None = None):
    """A model bundle (default: the one shipped with memx; or `predictor`, already loaded) and the test spectra its
    card lists (`part='valid'`: its validation spectra), found in `data_dirs` (default: the shared FEFF data):
    (predictor, records, GraphSet). With `max_test`, every site of the metals with few training spectra is kept and
    a random sample of the well-trained metals' sites fills up the rest."""
    predictor = predictor or Predictor.load(model_path)
    card = predictor.card
    ids = card.split[f'{part}_ids']
    records = [r for d in data_dirs for r in read_spectra(d, progress=False)[0]] if data_dirs else held_out_records(ids)
    data = predictor.test_data(records, part)
    print(f"model: {model_path or 'the model shipped with memx'} ({card.date}, {card.code}; "
          f"{predictor.training_summary()}); {len(ids)} {part} spectra on its card, never used in training")
    rows = data.part('test')
    if max_test and len(rows) > max_test:
        rare = np.isin([data.records[i].element for i in rows], card.few_data_elements)
        keep = rows[rare][:max_test]
        fill = np.random.default_rng(seed).choice(rows[~rare], max(0, max_test - len(keep)), replace=False)
        rows = np.sort(np.concatenate([keep, fill]))
    records = [data.records[i] for i in rows]
    test = cached_graph_set(records, data.y[rows], predictor.spec, progress=False)
    print(f'{len(test)} {part} spectra analysed:', dict(Counter(r.element for r in records).most_common()))
    predictor.model.eval()
    return predictor, records, test


VERDICTS = ('reproduced', 'not reproduced', 'not distinguishable', 'beyond the paper')


def verdict_file(chapter: str, quick: bool, results_dir=None) -> Path:
    "Where `chapter` records its verdicts for the book's verdict page: `verdict.json` in its results folder."
    return Path(results_dir or f"../{'_cache' if quick else 'results'}/{chapter}")/'verdict.json'


def record_verdict(chapter: str, quick: bool, results_dir=None, *, experiment: str, paper: str, memx: str,
                   verdict: str) -> dict:
    """Record one row of the verdict page: the `experiment` (e.g. 'test MAE of the mixed model'), what the `paper`
    reported and what `memx` measured (both as short text, the latter printed by the code that measured it), and the
    computed `verdict`, one of `VERDICTS`. A chapter may record several experiments; recording one again replaces
    it. The rows land in `verdict_file(chapter, quick, results_dir)` with the setting that produced them."""
    assert verdict in VERDICTS, f'verdict {verdict!r} is not one of {VERDICTS}'
    path = verdict_file(chapter, quick, results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(path.read_text())['rows'] if path.exists() else []
    row = {'experiment': experiment, 'paper': paper, 'memx': memx, 'verdict': verdict}
    rows = [r for r in rows if r['experiment'] != experiment] + [row]
    path.write_text(json.dumps({'chapter': chapter, 'setting': 'quick' if quick else 'full', 'rows': rows}, indent=1))
    return row
