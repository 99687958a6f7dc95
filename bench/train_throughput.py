"""Training throughput of the shipped network's architecture on this machine: graphs per second for one epoch of
`memx.fit.fit` on real shared graphs, at 1 and 2 torch threads, each in its own process (so thread settings do
not leak), with the paper's batch size (160).

Run from the repository root: `python bench/train_throughput.py [--graphs 2000] [--epochs 2]`. Prints, per thread
count: seconds per epoch and graphs per second (the mean over the epochs after the first), and the ratio.
"""
import argparse, json, subprocess, sys


def run(threads: int, n_graphs: int, epochs: int) -> dict:
    "Train a paper-width network for `epochs` epochs on `n_graphs` Cu/Co/... graphs with `threads` torch threads."
    import torch
    torch.set_num_threads(threads)
    from memx.shared import load_shared
    from memx.training_set import prepare
    from memx.graphs import GraphSpec
    from memx.model import MemXanes, ModelConfig
    from memx.fit import TrainConfig, fit, seed_everything
    records, _ = load_shared(sources=('feff-cu', 'feff-omnixas'), sample={'feff-cu': 400, 'feff-omnixas': 800}, progress=False)
    g = prepare(records, split_by='material').graphs(GraphSpec('absorber'), progress=False)
    train = g['train'][:n_graphs]
    seed_everything(0)
    history = fit(MemXanes(ModelConfig()), train, g['valid'][:200], TrainConfig(max_epochs=epochs, patience=epochs + 1), progress=False)
    steady = history.iloc[1:] if len(history) > 1 else history
    return {'threads': threads, 'graphs': len(train), 's_per_epoch': float(steady.seconds.mean()),
            'graphs_per_s': float(steady.graphs_per_s.mean())}


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--graphs', type=int, default=2000); ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--child', type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.graphs, args.epochs))); sys.exit()
    out = {}
    for threads in (1, 2):
        r = subprocess.run([sys.executable, __file__, '--child', str(threads), '--graphs', str(args.graphs),
                            '--epochs', str(args.epochs)], capture_output=True, text=True, check=True)
        out[threads] = json.loads(r.stdout.strip().splitlines()[-1])
        o = out[threads]
        print(f"{threads} thread(s): {o['graphs']} graphs, {o['s_per_epoch']:.1f} s/epoch, {o['graphs_per_s']:.0f} graphs/s "
              f"(paper-width network, batch 160, one training epoch, validation excluded)")
    print(f"2 threads / 1 thread: {out[2]['graphs_per_s'] / out[1]['graphs_per_s']:.2f}x the throughput")
