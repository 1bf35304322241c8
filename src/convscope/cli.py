"""The ``convscope`` command: argument parsing only; the work is in the library.

Exit status: 0 on success, 2 on bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from .cli_output import need_torch, write_output
from .cli_parsers import build_parser
from .cli_train import cmd_evaluate, cmd_predict, cmd_train
from .errors import ConvscopeError


def refuse_overwriting_the_input(args: argparse.Namespace) -> None:
    """``-o`` naming the very file the model was read from would replace the user's
    description with a report: refused."""
    out, source = getattr(args, "output", None), getattr(args, "model", None)
    if not isinstance(out, str) or not isinstance(source, str) or out in ("", "-"):
        return
    try:
        same = os.path.exists(source) and os.path.exists(out) and os.path.samefile(out, source)
    except (OSError, ValueError):
        return
    if same:
        raise ConvscopeError(f"{out}: -o names the model's own file; expected another path "
                             "(the description would be replaced by the output)")


# ------------------------------------------------------------------ commands ---
def cmd_summary(args: argparse.Namespace) -> None:
    from .analysis import analyze
    from .render import render
    from .sources import load

    graph = load(args.model, args.input)
    report = analyze(graph, batch=args.batch, dtype=args.dtype)
    shown = args.lint or (args.format == "table" and args.output is None)
    if shown:  # lint only where its findings are printed, and imported only then
        from .analysis.lint import lint
    findings = lint(graph, report) if shown else ()
    if args.depth is not None:
        from .analysis.rollup import rollup

        report = rollup(report, args.depth)
    write_output(render(report, args.format, args.columns), args.output)
    if args.lint:
        print("\n".join(map(str, findings)) or "lint: no findings", file=sys.stderr)
    elif findings and args.format == "table" and args.output is None:
        print(f"lint: {len(findings)} finding(s); see --lint or convscope lint", file=sys.stderr)


def cmd_lint(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .analysis.lint import lint
    from .sources import load

    graph = load(args.model, args.input)
    findings = lint(graph, analyze(graph, dtype=args.dtype))
    warnings = sum(f.severity == "warning" for f in findings)
    lines = [str(f) for f in findings] + [
        f"{len(findings)} finding(s): {warnings} warning(s), {len(findings) - warnings} "
        "info (convscope help lint explains each rule)"]
    write_output("\n".join(lines) + "\n", None)
    return 1 if args.strict and warnings else 0


def cmd_calc(args: argparse.Namespace) -> None:
    from .calc import calc

    extra: dict[str, Any] = {}
    for pair in args.set or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConvscopeError(f"--set wants key=value; received '{pair}'")
        from .description.oneline import value as read_value

        extra[key] = read_value(value)
    for key in ("kernel", "stride", "padding", "dilation", "groups", "filters", "units"):
        given = getattr(args, key)
        if given is not None:
            extra[key] = given
    if args.ceil:
        extra["ceil_mode"] = True
    if args.nobias:
        extra["bias"] = False
    write_output("\n".join(calc(args.layer, args.input, extra)) + "\n", None)


def cmd_build(args: argparse.Namespace) -> None:
    from .sources import load

    if args.to != "torch" and not args.output:
        raise ConvscopeError(f"--to {args.to} writes a file: give -o FILE.{args.to}")
    graph = load(args.model, args.input)
    if args.to == "keras":
        from .keras.build import save_keras

        print(f"wrote {save_keras(graph, args.output)}", file=sys.stderr)
        return
    need_torch()
    if args.to == "onnx":
        from .onnx.export import save_onnx

        print(f"wrote {save_onnx(graph, args.output)}", file=sys.stderr)
        return
    from .pytorch.source import graph_source

    write_output(graph_source(graph, args.class_name), args.output)


def cmd_verify(args: argparse.Namespace) -> int:
    from .sources import load

    graph = load(args.model, args.input)
    need_torch()
    from .pytorch.verify import render_verification, verify

    result = verify(graph, rf=args.rf)
    write_output(render_verification(result, args.verbose), None)
    return 0 if result.ok else 1


def cmd_memory(args: argparse.Namespace) -> None:
    from .analysis.memory import largest_batch, parse_bytes, training_memory
    from .render.memory import fit_text, memory_json, memory_table
    from .sources import load

    graph = load(args.model, args.input)
    options = {"amp": args.amp, "checkpointing": args.checkpointing, "target": args.target}
    if args.fit:
        write_output(fit_text(largest_batch(graph, parse_bytes(args.fit), args.dtype,
                                            args.optimizer, **options)), args.output)
        return
    estimate = training_memory(graph, args.batch, args.dtype, args.optimizer, **options)
    measured = None
    if args.measure:
        need_torch()
        from .pytorch.memory import measure_training_memory

        measured = measure_training_memory(graph, args.batch, args.dtype, args.optimizer,
                                           args.device or ("cpu" if args.amp else "meta"),
                                           amp=args.amp, checkpointing=args.checkpointing,
                                           target=args.target)
    text = memory_json(estimate, measured) if args.format == "json" else \
        memory_table(estimate, measured)
    write_output(text, args.output)


def cmd_convolve(args: argparse.Namespace) -> None:
    from .teach.worked import Request, worked

    write_output(worked(Request(
        input=args.input, input_file=args.input_file, kernels=args.kernel or [],
        kernel_file=args.kernel_file, pool=args.pool, size=args.size, stride=args.stride,
        padding=args.padding, dilation=args.dilation, ceil=args.ceil, flip=args.flip,
        bias=args.bias or [], cell=args.cell, steps=args.steps, example=args.example)), None)


def cmd_explain(args: argparse.Namespace) -> None:
    from .analysis.explain import explain_layer, rf_table
    from .sources import load

    graph = load(args.model, args.input)
    text = explain_layer(graph, args.layer, args.batch, args.dtype) if args.layer else \
        rf_table(graph)
    write_output(text, None)


def cmd_compare(args: argparse.Namespace) -> None:
    from .teach import compare

    if args.demo:
        text = compare.demo(args.demo, args.x)
        items = compare.entries(compare.demo_sources(args.demo, args.x)) if args.plot else []
    else:
        if len(args.models) < 2:
            raise ConvscopeError("compare needs at least two models (or --demo NAME)")
        items = compare.entries(args.models, None, args.input)
        text = compare.compare_table(items)
    write_output(text, None)
    if args.plot:
        compare.plot(items, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)


def cmd_profile(args: argparse.Namespace) -> None:
    need_torch()
    import json

    from .analysis import analyze
    from .pytorch.profile import profile, profile_json, render_profile
    from .sources import load

    graph = load(args.model, args.input)
    result = profile(graph, analyze(graph, batch=args.batch), args.batch, args.runs,
                     args.warmup, args.backward, args.device)
    text = json.dumps(profile_json(result), indent=1) + "\n" if args.format == "json" else \
        render_profile(result, args.top)
    write_output(text, args.output)
    if args.plot:
        from .render.plots import plot_latency

        print(f"wrote {plot_latency(result, args.plot)}", file=sys.stderr)


def cmd_draw(args: argparse.Namespace) -> None:
    from pathlib import Path

    from .analysis import analyze
    from .files import save_atomic
    from .render.diagram import draw, to_png
    from .sources import load

    report = analyze(load(args.model, args.input))
    labels = tuple(x.strip() for x in args.labels.split(",") if x.strip())
    svg = draw(report, args.style, labels, args.width, args.depth)
    if args.output is None or args.output.endswith(".svg"):
        write_output(svg, args.output)
        return
    if not args.output.endswith(".png"):
        raise ConvscopeError(f"{args.output}: the picture is written as .svg or .png")
    png = to_png(svg)
    path = save_atomic(args.output, lambda tmp: Path(tmp).write_bytes(png))
    print(f"wrote {path}", file=sys.stderr)


def cmd_plot(args: argparse.Namespace) -> None:
    from .analysis import analyze
    from .render.plots import plot
    from .sources import load

    report = analyze(load(args.model, args.input), dtype=args.dtype)
    path = plot(report, args.what, args.output)
    print(f"wrote {path}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> None:
    from .analysis import analyze
    from .render.html import render_html
    from .sources import load

    graph = load(args.model, args.input)
    write_output(render_html(analyze(graph, dtype=args.dtype), graph), args.output)


def cmd_serve(args: argparse.Namespace) -> None:
    from .web.app import serve

    serve(args.host, args.port, workers=args.workers, time_limit=args.time_limit,
          memory_limit=args.memory_limit * 1024**2)


def cmd_zoo(args: argparse.Namespace) -> None:
    from .zoo_listing import zoo_table

    write_output(zoo_table(args.format), args.output)


def cmd_help(args: argparse.Namespace) -> None:
    from .help import topic

    write_output(topic(args.topic), None)


COMMANDS: dict[str, Callable[[argparse.Namespace], int | None]] = {
    "summary": cmd_summary, "lint": cmd_lint, "profile": cmd_profile, "calc": cmd_calc,
    "build": cmd_build, "verify": cmd_verify,
    "memory": cmd_memory, "convolve": cmd_convolve, "explain": cmd_explain,
    "compare": cmd_compare, "train": cmd_train, "evaluate": cmd_evaluate,
    "predict": cmd_predict, "draw": cmd_draw, "plot": cmd_plot, "report": cmd_report,
    "serve": cmd_serve, "zoo": cmd_zoo, "help": cmd_help,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    run = COMMANDS.get(args.command or "")
    if run is None:
        parser.print_help()
        return 0
    try:
        refuse_overwriting_the_input(args)
        return run(args) or 0
    except ConvscopeError as err:
        print(f"convscope: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `convscope summary resnet152 | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
