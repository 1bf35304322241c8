"""The training targets of the trainer, measured on this machine (3 seeds each, median):

* mnist1d with the MNIST-1D paper's reference CNN (zoo: mnist1d_cnn, 5,210 parameters):
  the paper reports 94 % test accuracy; target: >= 94 % in under 60 s of training;
* mnist1d with mnist1d_plus (a wider 1-D CNN of the zoo): >= 96 % in under 3 minutes;
* digits with digits_cnn (LeNet-style): >= 98 % in under 30 s.

Each run gives only the model and the dataset, as ``convscope train MODEL --data DATA``
does with no flags: the settings are the zoo description's ``train:`` recipe.

Test accuracy is the best-validation checkpoint's (the validation split is 10 % of the
training data, so the test set plays no part in the choice). Training seconds are the
epochs with their validation passes, not data loading or the final test.

Run: ``python benchmarks/train_targets.py [--seeds 0 1 2]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import convscope

RUNS = {"mnist1d_cnn on mnist1d": ("mnist1d_cnn", "mnist1d"),
        "mnist1d_plus on mnist1d": ("mnist1d_plus", "mnist1d"),
        "digits_cnn on digits": ("digits_cnn", "digits")}
TARGETS = {"mnist1d_cnn on mnist1d": (0.94, 60), "mnist1d_plus on mnist1d": (0.96, 180),
           "digits_cnn on digits": (0.98, 30)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    from convscope.trainer.recipe import configure

    for name, (model, data) in RUNS.items():
        accs, secs = [], []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as out:
                result = convscope.train(model, data, seed=seed, out=out, quiet=True)
            accs.append(result.test_accuracy)
            secs.append(result.train_seconds)
            print(f"  {name}, seed {seed}: test accuracy {result.test_accuracy:.4f}, "
                  f"{result.train_seconds:.1f} s", flush=True)
        acc, sec = statistics.median(accs), statistics.median(secs)
        floor, limit = TARGETS[name]
        verdict = "met" if acc >= floor and sec <= limit else "MISSED"
        print(f"{name}: median test accuracy {acc:.4f} (target {floor:.0%}), median "
              f"{sec:.1f} s of training (limit {limit} s): {verdict}", flush=True)
        print(f"  {configure(model, data, {})[1]}")


if __name__ == "__main__":
    main()
