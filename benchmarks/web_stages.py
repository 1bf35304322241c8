"""What a web worker's answer to a new description costs, stage by stage (issue 16).

For resnet152's description with the classifier's units changed (what a keystroke in the
description sends), it times in one process, fastest of ``--repeat`` runs each: reading
the text (YAML), parsing the description, the analysis, the report's JSON, the diagram,
the training memory and lint, then the whole answer as a worker builds it
(``web.jobs.analysis_reply``), and the size of that answer.

    python benchmarks/web_stages.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import convscope.zoo
from convscope.analysis import analyze
from convscope.analysis.lint import lint
from convscope.render.data import render_json
from convscope.render.diagram import draw
from convscope.sources import graph_of_text_data, text_data
from convscope.web.jobs import analysis_reply, memory_data


def fastest(run: Any, repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` calls of ``run`` in ms, and its result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return best * 1000, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    n = parser.parse_args().repeat
    text = convscope.zoo.text("resnet152").replace("units: 1000", "units: 3000")
    stages: list[tuple[str, float]] = []
    ms, data = fastest(lambda: text_data(text, "editor"), n)
    stages.append(("YAML", ms))
    ms, graph = fastest(lambda: graph_of_text_data(data, None), n)
    stages.append(("parse", ms))
    ms, report = fastest(lambda: analyze(graph), n)
    stages.append(("analysis", ms))
    for name, run in (("JSON", lambda: render_json(report)), ("diagram", lambda: draw(report)),
                      ("training memory", lambda: memory_data(graph, 1, "float32", "adam")),
                      ("lint", lambda: lint(graph, report))):
        stages.append((name, fastest(run, n)[0]))
    print(f"resnet152, a new description (fastest of {n} each, one process):")
    print("  " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in stages)
          + f"; sum {sum(ms for _, ms in stages):.1f} ms")
    ms, reply = fastest(lambda: analysis_reply(graph, 1, "float32", "adam"), n)
    print(f"  the answer after parsing (analysis_reply): {ms:.1f} ms, {len(reply.body):,} bytes")


if __name__ == "__main__":
    main()
