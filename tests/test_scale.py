"Predictions at scale on a real local Dask cluster (two worker processes, loopback only)."
import subprocess, threading, time
import numpy as np
import pandas as pd
import pytest
from memx.predict import predict
from memx.scale import predict_dataset, structure_sources

distributed = pytest.importorskip('distributed')


@pytest.fixture(scope='module')
def crystals(shared):
    "A glob over shared crystals (their POSCARs; 73 today), and up to 120 of them as (name, path) pairs."
    pattern = str(shared/'feff-omnixas'/'mp-10*'/'POSCAR')
    items = list(structure_sources([pattern]))[:120]
    assert len(items) >= 60, len(items)
    return pattern, items


def test_a_dataset_equals_the_in_process_predictions_and_a_rerun_does_nothing(tmp_path, crystals):
    pattern, items = crystals
    out = tmp_path/'ds'
    first = predict_dataset([pattern], out, workers=2, chunk=16, progress=False)
    again = predict_dataset([pattern], out, workers=2, chunk=16, progress=False)
    assert first['failed parts'] == 0 and first['structures'] + first['skipped'] >= len(items)
    assert again['parts written'] == 0 and again['parts already there'] == first['parts written']
    table = pd.read_parquet(out)
    sample = items[::15]                                 # the in-process path on a sample of them
    here = pd.concat([predict(p, progress=False).assign(structure=n) for n, p in sample], ignore_index=True)
    here['site'] = here.site.astype(str)
    order = ['structure', 'element', 'site', 'energy_eV']
    mine = table[table.structure.isin([n for n, _ in sample])].sort_values(order)
    assert len(mine) == len(here)
    np.testing.assert_allclose(mine.mu.to_numpy(), here.sort_values(order).mu.to_numpy(), atol=1e-6)


def test_a_killed_worker_loses_nothing(tmp_path, crystals):
    "A worker process dies midway: its chunk is retried elsewhere and the dataset is whole."
    pattern, items = crystals
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host='127.0.0.1', dashboard_address=None) as cluster:
        out = tmp_path/'ds'

        def kill_one():
            while not list(out.glob('part-*.parquet')): time.sleep(0.2)
            nanny = next(iter(cluster.workers.values()))
            nanny.process.process.kill()                 # the worker process, as the OS would kill it

        killer = threading.Thread(target=kill_one, daemon=True); killer.start()
        done = predict_dataset([pattern], out, scheduler=cluster.scheduler_address, chunk=8, progress=False, retries=3)
        killer.join(timeout=60)
    reference = predict_dataset([pattern], tmp_path/'ref', workers=2, chunk=8, progress=False)
    assert done['failed parts'] == 0 and done['structures'] == reference['structures']
    a, b = (pd.read_parquet(p).sort_values(['structure', 'element', 'site', 'energy_eV']) for p in (out, tmp_path/'ref'))
    np.testing.assert_allclose(a.mu.to_numpy(), b.mu.to_numpy(), atol=1e-6)


def test_cli_predicts_a_dataset(tmp_path, crystals):
    pattern, _ = crystals
    r = subprocess.run(['memx', 'predict', pattern, '--dataset', tmp_path/'ds', '--workers', '2', '--chunk', '40'],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'structures predicted into' in r.stdout and len(list((tmp_path/'ds').glob('part-*.parquet'))) >= 2
