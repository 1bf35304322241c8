"""The checked values of ``convscope serve``'s options (argparse ``type=`` functions):
a wrong value is an argparse error (usage, one line, exit status 2), not a traceback.
Plain Python, so that building the CLI parser does not import the web server."""

from __future__ import annotations

import argparse


def _ranged(text: str, kind: type, low: float, high: float, what: str) -> float:
    """``kind(text)`` when it lies in [low, high]; otherwise an argparse error saying ``what``."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}, not '{text[:20]}'") from None
    if not low <= value <= high:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"{what}, not {text[:20]}")
    return value


def port(text: str) -> int:
    """A TCP port: a whole number from 1 to 65535."""
    return int(_ranged(text, int, 1, 65535, "a port is a whole number from 1 to 65535"))


def workers(text: str) -> int:
    """Worker processes for the analyses: 1 to 64."""
    return int(_ranged(text, int, 1, 64,
                       "the number of workers is a whole number from 1 to 64"))


def seconds(text: str) -> float:
    """The time limit of one analysis: 0.1 to 3600 seconds."""
    return _ranged(text, float, 0.1, 3600,
                   "the time limit is a number of seconds from 0.1 to 3600")


def megabytes(text: str) -> int:
    """The memory budget of one worker: 64 MB to 1 TB, in MB."""
    return int(_ranged(text, int, 64, 1024 * 1024,
                       "the memory limit is a whole number of MB from 64 to 1048576"))
