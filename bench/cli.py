"""How long the `memx` command takes to answer before any work: `memx --version`, `memx --help` and a subcommand's
`--help`, beside a bare `python -c pass` in the same run (the interpreter's own start), median of several runs.

    python bench/cli.py [--repeat 7]
"""
import argparse, shutil, statistics, subprocess, sys, time

def seconds(cmd: list[str], repeat: int) -> float:
    "Median wall time of `cmd` over `repeat` runs (after one warm-up run)."
    subprocess.run(cmd, capture_output=True)
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); subprocess.run(cmd, capture_output=True, check=True); times.append(time.perf_counter() - t)
    return statistics.median(times)

if __name__ == '__main__':
    p = argparse.ArgumentParser(); p.add_argument('--repeat', type=int, default=7); repeat = p.parse_args().repeat
    memx = shutil.which('memx') or sys.exit('memx is not installed (pip install -e .)')
    base = seconds([sys.executable, '-c', 'pass'], repeat)
    print(f'python -c pass: {base:.3f} s (median of {repeat})')
    for args in (['--version'], ['--help'], ['predict', '--help'], ['train', '--help']):
        t = seconds([memx, *args], repeat)
        print(f"memx {' '.join(args)}: {t:.3f} s ({t / base:.1f}x python -c pass, {t - base:.3f} s above it)")
