"""Execute the book's chapters with papermill and build the site with jupyter-book (offline).

    python book/build.py --quick                 # every chapter in the quick setting (what CI runs), then the site
    python book/build.py --full --only 03        # one chapter in the full setting, the others as last staged
    python book/build.py --quick --no-execute    # rebuild the site from the chapters staged before

Chapters run in reading order, except those of `RUN_LAST` (the verdict page, listed first), which read what the others
record and so run after them; `--only 00` runs the verdict page alone, on the verdicts last recorded.

Sources in `book/chapters/` are never written to: each chapter is executed into a staging copy of the book in
`book/_build/staged/`, which jupyter-book turns into `book/_build/site/_build/html/` (`--build-dir` moves both). Long results (trained
weights, tables) are cached by the chapters themselves under `<results>/<chapter>/<key of the settings>/`:
`book/results/` for the full setting (small files, meant to be committed) and `book/_cache/` for the quick
setting (git-ignored), so rebuilding does not retrain.
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path

BOOK = Path(__file__).resolve().parent
BUILD = BOOK/'_build'
RESULTS = {'full': BOOK/'results', 'quick': BOOK/'_cache'}
BOOK_FILES = ('_config.yml', '_toc.yml', 'intro.md')


def toc_files(toc: Path = BOOK/'_toc.yml') -> list[str]:
    "Every file the table of contents lists, in reading order, as paths relative to the book without suffix."
    import yaml
    out = []
    def walk(node):
        if isinstance(node, dict):
            for key in ('root', 'file'):
                if key in node: out.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)): walk(value)
        elif isinstance(node, list):
            for item in node: walk(item)
    walk(yaml.safe_load(toc.read_text()))
    return out


def chapters() -> list[str]:
    "Chapter names (e.g. '03_training') in reading order: the notebooks the table of contents lists."
    return [Path(f).name for f in toc_files() if f.startswith('chapters/')]


RUN_LAST = ('00_verdict',)   # chapters that read what the others record (their verdicts): executed after them


def execution_order(names: list[str]) -> list[str]:
    "The order in which `names` are executed: reading order, except that the chapters of `RUN_LAST` come last, wherever the table of contents lists them."
    return [n for n in names if n not in RUN_LAST] + [n for n in names if n in RUN_LAST]


def chapter_numbers(toc: Path = BOOK/'_toc.yml') -> dict[str, int | None]:
    "Each chapter's number as Sphinx gives it (numbers run on across the numbered parts: `use_multitoc_numbering`); None in an unnumbered part."
    import yaml
    out, k = {}, 0
    for part in yaml.safe_load(toc.read_text()).get('parts', []):
        for entry in part.get('chapters', []):
            if part.get('numbered'): k += 1
            if entry.get('file', '').startswith('chapters/'):
                out[Path(entry['file']).name] = k if part.get('numbered') else None
    return out


def pick(names: list[str], only: list[str] | None) -> list[str]:
    "The chapters `only` names (by full name or number prefix), in reading order."
    if not only: return names
    chosen = [n for n in names if any(n == o or n.split('_')[0] == o.zfill(2) for o in only)]
    unknown = [o for o in only if not any(n == o or n.split('_')[0] == o.zfill(2) for n in names)]
    if unknown: sys.exit(f'no chapter {unknown}; chapters are {names}')
    return chosen


def folders(build: Path = BUILD) -> tuple[Path, Path, Path]:
    "The staging folder, jupyter-book's output folder and the built HTML folder under `build`."
    return build/'staged', build/'site', build/'site'/'_build'/'html'


def stage_book(staged: Path) -> None:
    "Copy the book's configuration and text pages into the staging folder."
    (staged/'chapters').mkdir(parents=True, exist_ok=True)
    for name in BOOK_FILES:
        shutil.copy2(BOOK/name, staged/name)
    for md in (BOOK/'chapters').glob('*.md'):
        shutil.copy2(md, staged/'chapters'/md.name)
    shutil.copytree(BOOK/'_static', staged/'_static', dirs_exist_ok=True)


FOLDED = {'hide-input', 'remove-input', 'remove-cell', 'hide-cell'}


def fold_code(notebook: Path, setting: str) -> None:
    "Readers come for figures and verdicts: fold every code cell (`hide-input`), drop papermill's injected parameters, and say in prose, above the folded parameters cell, which setting the page ran with."
    nb = json.loads(notebook.read_text())
    cells = []
    for cell in nb['cells']:
        tags = cell.setdefault('metadata', {}).setdefault('tags', [])
        if cell['cell_type'] == 'code' and 'injected-parameters' in tags:
            tags.append('remove-cell')
        elif cell['cell_type'] == 'code' and 'parameters' in tags:
            cells.append({'cell_type': 'markdown', 'metadata': {}, 'id': 'memx-setting', 'source': [
                f"**Setting.** This page ran in the **{setting}** setting (`quick = {setting == 'quick'}`, "
                f"`python book/build.py --{setting}`). The chapter's parameters are in the folded cell below; "
                "`papermill -p NAME VALUE` changes any of them."]})
        if cell['cell_type'] == 'code' and not FOLDED & set(tags):
            tags.append('hide-input')
        cells.append(cell)
    nb['cells'] = cells
    notebook.write_text(json.dumps(nb, indent=1))


def ipc_kernel_manager():
    "A Jupyter kernel manager on local IPC sockets: no network ports, so ipykernel has no unencrypted TCP to warn about."
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class IPCKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(['tcp', 'ipc'], default_value='ipc', config=True)
    return IPCKernelManager


def execute(name: str, setting: str, results: Path, timeout: int, staged: Path) -> float:
    "Run one chapter with papermill into the staging folder; returns the seconds it took."
    import papermill as pm
    t0 = time.perf_counter()
    out = staged/'chapters'/f'{name}.ipynb'
    pm.execute_notebook(BOOK/'chapters'/f'{name}.ipynb', out,
                        parameters={'quick': setting == 'quick',
                                    'results_dir': os.path.relpath(results/name, BOOK/'chapters')},
                        cwd=str(BOOK/'chapters'), kernel_name='python3', progress_bar=False,
                        execution_timeout=timeout, kernel_manager_class=ipc_kernel_manager())
    fold_code(out, setting)
    return time.perf_counter() - t0


def build_site(staged: Path, site: Path) -> None:
    "Run jupyter-book on the staged book (no execution, no network)."
    exe = Path(sys.executable).parent/'jupyter-book'
    cmd = [str(exe) if exe.exists() else 'jupyter-book', 'build', str(staged), '--path-output', str(site),
           '--builder', 'html', '--all']   # --all: Sphinx keeps an old copy of a changed static file otherwise
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f'jupyter-book failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}')


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument('--quick', dest='setting', action='store_const', const='quick',
                      help='small data and few epochs: seconds per chapter (the default; what CI runs)')
    mode.add_argument('--full', dest='setting', action='store_const', const='full',
                      help='the setting of the published figures (hours on a CPU unless results are cached)')
    p.add_argument('--only', nargs='+', metavar='CHAPTER', help="execute only these chapters ('03' or '03_training')")
    p.add_argument('--results', type=Path, help='cache folder for long results (default: book/_cache for --quick, '
                                                 'book/results for --full)')
    p.add_argument('--build-dir', type=Path, default=BUILD, help='where the staged chapters and the site go '
                                                                 '(default book/_build)')
    p.add_argument('--no-execute', action='store_true', help='do not execute chapters; build from the staged copies')
    p.add_argument('--no-site', action='store_true', help='execute chapters but do not run jupyter-book')
    p.add_argument('--timeout', type=int, default=3600, help='seconds one notebook cell may run (default 3600)')
    p.add_argument('--threads', type=int, default=1,
                   help='CPU threads per chapter kernel (default 1: on a shared or small machine, more threads than '
                        'free cores slow PyTorch down by orders of magnitude)')
    p.set_defaults(setting='quick')
    args = p.parse_args(argv)

    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'NUMBA_NUM_THREADS'):
        os.environ[var] = str(args.threads)  # the chapter kernels inherit this environment
    names = chapters()
    todo = [] if args.no_execute else execution_order(pick(names, args.only))
    missing = [n for n in (names if not args.no_site else todo) if not (BOOK/'chapters'/f'{n}.ipynb').is_file()]
    if missing: sys.exit(f'_toc.yml lists chapters without a notebook in book/chapters: {missing}')
    results = (args.results or RESULTS[args.setting]).resolve()
    staged, site, html = folders(args.build_dir.resolve())
    stage_book(staged)
    log_path = staged/'executed.json'
    for name in todo:
        print(f'executing {name} ({args.setting}) ...', flush=True)
        try:
            seconds = execute(name, args.setting, results, args.timeout, staged)
        except Exception as e:
            print(f'{name} failed; the executed notebook with the error is {staged/"chapters"/name}.ipynb', file=sys.stderr)
            print(str(e)[-3000:], file=sys.stderr)
            return 1
        log = json.loads(log_path.read_text()) if log_path.exists() else {}  # read late: builds may run side by side
        log[name] = {'setting': args.setting, 'seconds': round(seconds, 1), 'date': time.strftime('%Y-%m-%d %H:%M')}
        print(f'  {name}: {seconds:.0f} s', flush=True)
        log_path.write_text(json.dumps(log, indent=1))
    if args.no_site: return 0
    for name in names:  # chapters never executed are staged as they are, so the site still builds
        if not (staged/'chapters'/f'{name}.ipynb').exists():
            print(f'  {name}: not executed yet, staged without outputs')
            shutil.copy2(BOOK/'chapters'/f'{name}.ipynb', staged/'chapters'/f'{name}.ipynb')
    print('building the site with jupyter-book ...', flush=True)
    t0 = time.perf_counter()
    build_site(staged, site)
    print(f'  site: {time.perf_counter() - t0:.0f} s -> {html/"index.html"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
