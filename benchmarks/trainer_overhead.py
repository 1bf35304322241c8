"""Trainer overhead: the time of one training epoch in ``convscope train`` against a
hand-written minimal PyTorch loop over the same model, data, batch size and optimizer,
in one process: each side's median epoch, over ``--rounds`` alternating rounds the best of
each (validation is not part of either).

Run: ``python benchmarks/trainer_overhead.py [--epochs 5]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import convscope
from convscope.pytorch.build import GraphModule
from convscope.trainer.data import load_data
from convscope.trainer.setup import training_graph

CASES = [("mnist1d_cnn", "mnist1d", 100), ("digits_cnn", "digits", 32),
         ("mnist1d_plus", "mnist1d", 100)]


def minimal_loop(model_name: str, data_name: str, batch: int, epochs: int) -> float:
    graph = convscope.load(model_name)
    trained, _ = training_graph(graph)
    data = load_data(data_name, graph.shapes[graph.inputs[0].name], 10)
    torch.manual_seed(0)
    model = GraphModule(trained)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data.train.x, data.train.y
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(y))
        for i in range(0, len(y), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def trainer(model_name: str, data_name: str, batch: int, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        result = convscope.train(model_name, data_name, epochs=epochs, batch_size=batch,
                                 out=out, quiet=True, weights_txt="never")
    return statistics.median(r["train_seconds"] for r in result.history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median epoch time")
    for model, data, batch in CASES:
        bases, ours = [], []
        for _ in range(args.rounds):  # alternate, and keep each side's best: the machine drifts
            bases.append(minimal_loop(model, data, batch, args.epochs))
            ours.append(trainer(model, data, batch, args.epochs))
        base, mine = min(bases), min(ours)
        print(f"  {model} on {data}, batch {batch}: minimal loop {base * 1000:.1f} ms, "
              f"convscope train {mine * 1000:.1f} ms, ratio {mine / base:.3f}", flush=True)


if __name__ == "__main__":
    main()
