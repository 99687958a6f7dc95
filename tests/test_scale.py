"Predictions and FEFF campaigns at scale on a real local Dask cluster (two worker processes, loopback only)."
import gzip, json, os, signal, subprocess, sys, threading, time, tracemalloc
from collections import Counter
from itertools import islice
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from memx.readers.feff import read_feff_tree
from memx.predict import predict
from memx.feff import stand_in_feff
from memx.screening import predict_dataset, structure_sources
from memx.simulate import simulate

distributed = pytest.importorskip('distributed')
import cloudpickle
cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the stand-in FEFF below travels to the worker processes by value


def _glob_of(shared_path, folders: str, at_least: int) -> tuple[str, list]:
    "A glob over the POSCARs of shared crystals, and its (name, path) pairs."
    pattern = str(shared_path('feff-omnixas')/folders/'POSCAR')
    items = list(structure_sources([pattern]))
    assert len(items) >= at_least, len(items)
    return pattern, items


@pytest.fixture(scope='module')
def crystals(shared_path): return _glob_of(shared_path, 'mp-10*', 60)        # 73 today


@pytest.fixture(scope='module')
def hundreds(shared_path): return _glob_of(shared_path, 'mp-[25]*', 300)     # 371 today


def _two_workers():
    "A running cluster of two one-thread worker processes, every port on the loopback: what a user's scheduler stands for."
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1', dashboard_address='127.0.0.1:0')


def _kill_a_worker_when(cluster, ready) -> threading.Event:
    "Kill one worker process with SIGKILL, as the OS would, once `ready()` holds (in a thread); the event is set once it is dead."
    killed = threading.Event()
    def kill():
        while not ready(): time.sleep(0.1)
        pid = next(iter(cluster.workers.values())).process.process.pid
        os.kill(pid, signal.SIGKILL); killed.set()
    threading.Thread(target=kill, daemon=True).start()
    return killed


@pytest.mark.slow   # hundreds of crystals on Dask, twice (~2.5 min on 2 cores)
def test_a_dataset_equals_the_in_process_predictions_and_a_rerun_does_nothing(tmp_path, hundreds):
    pattern, items = hundreds
    out = tmp_path/'ds'
    first = predict_dataset([pattern], out, workers=2, chunk=32, progress=False)
    again = predict_dataset([pattern], out, workers=2, chunk=32, progress=False)
    assert first['failed parts'] == 0 and first['structures'] + first['skipped'] >= len(items)
    assert again['parts written'] == 0 and again['parts already there'] == first['parts written']
    table = pd.read_parquet(out)
    sample = items[::12]                                 # the in-process path on a sample of them
    here = pd.concat([predict(p, progress=False).assign(structure=n) for n, p in sample], ignore_index=True)
    here['site'] = here.site.astype(str)
    order = ['structure', 'element', 'site', 'energy_eV']
    mine = table[table.structure.isin([n for n, _ in sample])].sort_values(order)
    assert len(mine) == len(here)
    np.testing.assert_allclose(mine.mu.to_numpy(), here.sort_values(order).mu.to_numpy(), atol=1e-6)


@pytest.mark.slow   # a Dask cluster campaign, then its reference run
def test_a_killed_worker_loses_nothing(tmp_path, crystals):
    "A worker process dies midway: its chunk is retried elsewhere and the dataset is whole."
    pattern, items = crystals
    with _two_workers() as cluster:
        out = tmp_path/'ds'

        killed = _kill_a_worker_when(cluster, lambda: bool(list(out.glob('part-*.parquet'))))
        done = predict_dataset([pattern], out, scheduler=cluster.scheduler_address, chunk=8, progress=False, retries=3)
        assert killed.wait(60)
    reference = predict_dataset([pattern], tmp_path/'ref', workers=2, chunk=8, progress=False)
    assert done['failed parts'] == 0 and done['structures'] == reference['structures']
    a, b = (pd.read_parquet(p).sort_values(['structure', 'element', 'site', 'energy_eV']) for p in (out, tmp_path/'ref'))
    np.testing.assert_allclose(a.mu.to_numpy(), b.mu.to_numpy(), atol=1e-6)


@pytest.mark.slow   # a Dask run over the shared crystals
def test_cli_predicts_a_dataset(tmp_path, crystals):
    pattern, _ = crystals
    r = subprocess.run(['memx', 'predict', pattern, '--dataset', tmp_path/'ds', '--workers', '2', '--chunk', '40'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'structures predicted into' in r.stdout and len(list((tmp_path/'ds').glob('part-*.parquet'))) >= 2


def test_cli_dataset_options_refused_with_one_line(tmp_path):
    "Options of one structure with --dataset, and options of many without it: exit 2 and one line, before anything is read."
    pattern = str(tmp_path/'*'/'POSCAR')
    for wrong, says in ([pattern, '--dataset', tmp_path/'ds', '-o', 'x.csv'], '--output cannot go with --dataset'), \
                       (['NiO', '--workers', '2'], '--workers go with --dataset DIR'):
        r = subprocess.run(['memx', 'predict', *wrong], capture_output=True, text=True)
        assert r.returncode == 2 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


class SlowFeff:
    "Stands in for FEFF on the worker processes: logs each call to a file, takes `seconds`, writes a smooth edge."
    def __init__(self, log: Path, seconds: float): self.log, self.seconds = log, seconds
    def __call__(self, feff_inp, workdir, timeout=None):
        with open(self.log, 'a') as f: f.write(workdir.parent.name + '\n')
        time.sleep(self.seconds)
        return stand_in_feff(feff_inp, workdir, timeout)


@pytest.mark.slow   # a FEFF campaign on a Dask cluster, twice
def test_a_killed_worker_loses_no_feff_site_and_computes_none_twice(tmp_path):
    "A FEFF campaign on a cluster of two worker processes; one dies while it computes a site."
    crystals = ['NiO', 'Co3O4', 'Cu', 'ZnO', 'MnO', 'Fe2O3', 'TiO2', 'CuO']
    log, out = tmp_path/'calls', tmp_path/'runs'
    log.touch()
    with _two_workers() as cluster:
        killed = _kill_a_worker_when(cluster, lambda: len(log.read_text().split()) >= 3)
        records, failed = simulate(crystals, out, runner=SlowFeff(log, 0.5), scheduler=cluster.scheduler_address, progress=False)
        assert killed.wait(60)
    calls = Counter(log.read_text().split())
    assert not failed and len(records) == len(read_feff_tree(out, progress=False)[0]) >= len(crystals), (failed, len(records))
    assert len(list(out.glob('*/FEFF-XANES/*/xmu.dat'))) == len(records)
    assert set(calls) == {f'{r.site:03d}_{r.element}' for r in records}, calls   # every site computed; Dask may rerun the units
    # of the dead worker, even one that finished before it reported (seen once in CI: a site run 3 times), so no count here
    assert not list(out.glob('*/.work')), list(out.glob('*/.work/*'))
    before = log.read_text()
    with _two_workers() as cluster:
        again, _ = simulate(crystals, out, runner=SlowFeff(log, 0), scheduler=cluster.scheduler_address, progress=False)
    assert log.read_text() == before and len(again) == len(records)   # a second run does no work


@pytest.mark.slow   # real FEFF 10 runs
@pytest.mark.parametrize('where', ['local', 'cluster'])
def test_cli_simulates_here_and_on_an_existing_cluster(tmp_path, where):
    "Real FEFF 10 (a tiny cluster): on 2 local workers, and on the worker processes of a running scheduler, the one-option change; no Dask chatter."
    pytest.importorskip('feff10')
    cmd = ['memx', 'simulate', 'NiO', 'ZnO', '-o', tmp_path/'runs', '--card', 'FMS 3.0 0', '--radius', '4.5']
    if where == 'local':
        r = subprocess.run(cmd + ['--workers', '2'], capture_output=True, text=True)
    else:
        with _two_workers() as cluster:
            r = subprocess.run(cmd + ['--scheduler', cluster.scheduler_address], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not [line for line in r.stderr.splitlines() if line.startswith('memx:')], r.stderr
    records, skips = read_feff_tree(tmp_path/'runs', progress=False)
    assert sorted(x.id for x in records) == ['NiO-0-Ni-XANES-K', 'ZnO-0-Zn-XANES-K'] and not skips


def _xas_dump(path: Path, n: int) -> Path:
    "A JSON Lines dump of `n` K-edge XANES documents made by emmet-core's own `XASDoc` (one NiO spectrum, renamed)."
    emmet = pytest.importorskip('emmet.core.xas')
    from pymatgen.analysis.xas.spectrum import XAS
    from memx.examples import example_structure
    xas = XAS(np.linspace(8333, 8400, 135), np.linspace(0, 1.2, 135), example_structure('NiO'), 'Ni', 'K', absorbing_index=0)
    doc = emmet.XASDoc.from_spectrum(xas, task_id='mp-19009').model_dump(mode='json')
    line, tid = json.dumps(doc), f'"{doc["task_id"]}"'
    assert line.count(tid) == 1
    with gzip.open(path, 'wt') as f:
        for i in range(n): f.write(line.replace(tid, f'"mp-{i}"') + '\n')
    return path


def _peak_bytes(stream, n: int) -> tuple[int, int]:
    "Items read and the peak memory (tracemalloc) while reading the first `n` of `stream`."
    tracemalloc.start()
    count = sum(1 for _ in islice(stream, n))
    peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    return count, peak


def test_a_dump_of_thousands_streams_in_flat_memory(tmp_path):
    "Streaming a dump of 3,000 documents never holds more than a few of them: its peak memory is a small part of the dump's text (a JSON list, read whole, holds more than all of it), and about that of streaming 300."
    path = _xas_dump(tmp_path/'mp-xanes-Ni.jsonl.gz', 3000)
    few, few_peak = _peak_bytes(structure_sources([path]), 300)
    all_, all_peak = _peak_bytes(structure_sources([path]), 10**6)
    with gzip.open(path, 'rt') as f: text = sum(len(line) for line in f)
    assert (few, all_) == (300, 3000)
    assert all_peak < 0.05 * text and all_peak < few_peak + 0.05 * text, (few_peak, all_peak, text)   # what grows: the names seen


@pytest.mark.slow   # a Dask cluster of worker processes, twice
def test_cli_dataset_of_a_few_files_on_two_workers_and_its_rerun(tmp_path):
    "Six structure files on two workers: chunks small enough for both (three parts of two), each warning its own `memx:` line, and a rerun that says nothing is left to do."
    from memx.examples import example_structure
    names = ['NiO', 'ZnO', 'CuO', 'Co', 'Ni', 'Fe2O3']          # metallic Co and Ni lie outside the training domain
    for n in names: example_structure(n).to(filename=str(tmp_path/f'{n}.cif'))
    cmd = ['memx', 'predict', *(tmp_path/f'{n}.cif' for n in names), '--dataset', tmp_path/'ds', '--workers', '2']
    first = subprocess.run(cmd, capture_output=True, text=True)
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout.strip() == f"6 structures predicted into {tmp_path/'ds'} (3 new parts, 0 already there)", first.stdout
    assert len(list((tmp_path/'ds').glob('part-*.parquet'))) == 3
    assert again.stdout.strip() == f"nothing left to do: 3 parts already written in {tmp_path/'ds'}", again.stdout
    warned = [line for line in first.stderr.splitlines() if 'outside what the model was trained on' in line]
    assert sorted(line.split(':')[1].strip() for line in warned) == ['Co', 'Ni'], first.stderr
    for r in (first, again):
        assert all(line.startswith('memx: ') for line in r.stderr.splitlines()), r.stderr
