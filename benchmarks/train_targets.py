"""The training targets of the trainer, measured on this machine (3 seeds each, median):

* mnist1d with the MNIST-1D paper's reference CNN (zoo: mnist1d_cnn, 5,210 parameters):
  the paper reports 94 % test accuracy; target: >= 94 % in under 60 s of training;
* mnist1d with mnist1d_plus (a wider 1-D CNN of the zoo): >= 96 % in under 3 minutes;
* digits with digits_cnn (LeNet-style): >= 98 % in under 30 s.

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

RECIPES = {
    "mnist1d_cnn on mnist1d": dict(model="mnist1d_cnn", data="mnist1d", epochs=100,
                                   batch_size=100, lr=0.01, label_smoothing=0.1),
    "mnist1d_plus on mnist1d": dict(model="mnist1d_plus", data="mnist1d", epochs=40,
                                    batch_size=100, lr=0.002, label_smoothing=0.1,
                                    schedule="onecycle"),
    "digits_cnn on digits": dict(model="digits_cnn", data="digits", epochs=20, batch_size=32,
                                 lr=0.003, schedule="onecycle"),
}
TARGETS = {"mnist1d_cnn on mnist1d": (0.94, 60), "mnist1d_plus on mnist1d": (0.96, 180),
           "digits_cnn on digits": (0.98, 30)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    for name, recipe in RECIPES.items():
        accs, secs = [], []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as out:
                result = convscope.train(**recipe, seed=seed, out=out, quiet=True)
            accs.append(result.test_accuracy)
            secs.append(result.train_seconds)
            print(f"  {name}, seed {seed}: test accuracy {result.test_accuracy:.4f}, "
                  f"{result.train_seconds:.1f} s", flush=True)
        acc, sec = statistics.median(accs), statistics.median(secs)
        floor, limit = TARGETS[name]
        verdict = "met" if acc >= floor and sec <= limit else "MISSED"
        print(f"{name}: median test accuracy {acc:.4f} (target {floor:.0%}), median "
              f"{sec:.1f} s of training (limit {limit} s): {verdict}", flush=True)
        print(f"  recipe: {recipe}")


if __name__ == "__main__":
    main()
