"""The work behind the web page's API, done inside a worker process (see workers.py).

Each job takes the request's fields (already checked to be strings) and returns a
``Reply``: an HTTP status, a media type, the body as bytes and, for downloads, a file
name. Everything a description can make expensive (parsing, expanding blocks, the
analysis, drawing, serialising) happens here, never on the server's event loop.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, NamedTuple

from ..errors import ConvscopeError, LayerRuleError
from ..ir import Graph

#: the largest answer a worker sends back (a JSON report, an SVG, a PNG ...)
MAX_RESULT = 32 * 1024 * 1024
DOWNLOADS = {"svg": ("image/svg+xml", "svg"), "png": ("image/png", "png"),
             "markdown": ("text/markdown", "md"), "json": ("application/json", "json"),
             "yaml": ("application/yaml", "yaml"), "pytorch": ("text/x-python", "py")}
JSON = "application/json"


class Reply(NamedTuple):
    status: int
    media: str
    body: bytes
    filename: str = ""


class Recent:
    """The last answers of one worker process, most recent last, within ``most`` answers and
    ``budget`` bytes of bodies (a least-recently-used cache)."""

    def __init__(self, most: int = 32, budget: int = 64 * 1024 * 1024) -> None:
        self.most, self.budget = most, budget
        self.replies: OrderedDict[str, Reply] = OrderedDict()

    def get(self, key: str) -> Reply | None:
        reply = self.replies.get(key)
        if reply is not None:
            self.replies.move_to_end(key)
        return reply

    def put(self, key: str, reply: Reply) -> None:
        self.replies[key] = reply
        while len(self.replies) > self.most or len(self.replies) > 1 and \
                sum(len(r.body) for r in self.replies.values()) > self.budget:
            self.replies.popitem(last=False)


RECENT = Recent()


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, JSON, json.dumps(data, separators=(",", ":")).encode("utf-8"))


def error_reply(message: str, status: int = 400, line: int | None = None) -> Reply:
    return json_reply({"ok": False, "error": {"message": message, "line": line}}, status)


def graph_of(text: str, input_shape: str | None = None) -> Graph:
    """The graph of an editor's text (convscope.sources.load_text: read as data, never a
    Python source)."""
    from ..sources import load_text

    return load_text(text, input_shape, "editor")


def settings(job: dict[str, Any]) -> tuple[int, str, str]:
    """The what-if settings of a job: batch, dtype, optimizer (checked by the analysis)."""
    return (job.get("batch") or 1, job.get("dtype") or "float32",
            job.get("optimizer") or "adam")


def memory_data(graph: Graph, batch: int, dtype: str, optimizer: str) -> dict[str, Any]:
    """analysis.memory.training_memory in bytes, or the reason it cannot be estimated."""
    from ..analysis.memory import training_memory

    try:
        m = training_memory(graph, batch, dtype, optimizer)
    except (ConvscopeError, LayerRuleError) as err:
        return {"error": str(err)}
    return {"batch": m.batch, "dtype": m.dtype, "optimizer": m.optimizer,
            "param_bytes": m.param_bytes, "buffer_bytes": m.buffer_bytes,
            "gradient_bytes": m.gradient_bytes, "optimizer_bytes": m.optimizer_bytes,
            "activation_bytes": m.activation_bytes, "transient_bytes": m.transient_bytes,
            "peak_bytes": m.peak_bytes}


def analyze_job(text: str, input_shape: str | None, batch: int = 1, dtype: str = "float32",
                optimizer: str = "adam") -> Reply:
    """The page's analysis of ``text``. The answer is a pure function of what the text says
    (read as data: comments, spacing and key order do not count) and the settings, so a
    worker keeps its last answers (``RECENT``): a keystroke that leaves the description as
    it was (a comment, a blank line, a half-typed word in a comment) is answered at once."""
    from ..sources import graph_of_text_data, text_data

    description = text_data(text, "editor")
    key = json.dumps([description, input_shape, batch, dtype, optimizer], sort_keys=True,
                     default=repr)
    reply = RECENT.get(key)
    if reply is None:
        reply = analysis_reply(graph_of_text_data(description, input_shape), batch, dtype,
                               optimizer)
        RECENT.put(key, reply)
    return reply


def analysis_reply(graph: Graph, batch: int, dtype: str, optimizer: str) -> Reply:
    """``{"ok": true, "report": ..., "svg": ..., "totals": ..., "memory": ..., "lint": ...}``;
    the report is ``convscope summary --format json``'s text, embedded as it is (its layers
    written line by line, render/json_lines.py, rather than built as values and dumped)."""
    from ..analysis import analyze
    from ..analysis.lint import lint
    from ..render.data import render_json
    from ..render.diagram import draw
    from ..render.totals import totals_lines

    report = analyze(graph, batch, dtype)
    rest = json.dumps({"svg": draw(report), "totals": "\n".join(totals_lines(report)),
                       "memory": memory_data(graph, batch, dtype, optimizer),
                       "lint": [str(f) for f in lint(graph, report)]}, separators=(",", ":"))
    body = f'{{"ok":true,"report":{render_json(report).strip()},{rest[1:]}'
    return Reply(200, JSON, body.encode("utf-8"))


def compare_job(job: dict[str, Any]) -> Reply:
    """The description against a second one (``other``), as ``convscope compare``: both at
    the job's input size, batch and dtype."""
    from ..analysis import analyze
    from ..teach.compare import Entry, compare_data

    batch, dtype, _ = settings(job)
    first = graph_of(job.get("text", ""), job.get("input"))
    try:
        other = graph_of(job.get("other") or "", job.get("input"))
    except (ConvscopeError, LayerRuleError) as err:
        return error_reply(f"the second description: {err}", 400,
                           line_of(job.get("other") or "", err))
    data = compare_data(Entry(first.name, analyze(first, batch, dtype)),
                        Entry(other.name, analyze(other, batch, dtype)))
    return json_reply({"ok": True, **data})


def explain_job(text: str, input_shape: str | None, layer: str) -> Reply:
    from ..analysis.explain import explain_layer

    graph = graph_of(text, input_shape)
    return json_reply({"ok": True, "text": explain_layer(graph, layer)})


def download_job(kind: str, text: str, input_shape: str | None) -> Reply:
    graph = graph_of(text, input_shape)
    content = export(kind, graph, text)
    media, suffix = DOWNLOADS[kind]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in graph.name)[:80] or "model"
    body = content.encode("utf-8") if isinstance(content, str) else content
    return Reply(200, media, body, f"{name}.{suffix}")


def export(kind: str, graph: Graph, text: str) -> str | bytes:
    from ..analysis import analyze
    from ..render import render
    from ..render.diagram import draw, to_png

    if kind == "yaml":
        return text
    if kind == "pytorch":
        return pytorch_source(graph)
    report = analyze(graph)
    if kind == "svg":
        return draw(report)
    if kind == "png":
        return to_png(draw(report))
    return render(report, "markdown" if kind == "markdown" else "json")


def pytorch_source(graph: Graph) -> str:
    from .workers import raise_memory_limit_for

    try:
        with raise_memory_limit_for("torch"):
            import torch  # noqa: F401
    except ImportError:
        raise ConvscopeError("PyTorch source needs PyTorch installed next to convscope") \
            from None
    from ..pytorch.source import graph_source

    return graph_source(graph)


def line_of(text: str, error: BaseException) -> int | None:
    """The line of the editor's text the error is about (from its fields), or None."""
    from ..description.locate import locate

    try:
        return locate(text, error)
    except (Exception, RecursionError):  # noqa: BLE001 - the line is a courtesy
        return None


def run_job(job: dict[str, Any]) -> Reply:
    """One job, as sent by the server: ``{"kind": ..., "text": ..., "input": ...}``.
    Errors in the description come back as 400 with the message (and its line)."""
    text = job.get("text", "")
    try:
        kind = job["kind"]
        if kind == "analyze":
            reply = analyze_job(text, job.get("input"), *settings(job))
        elif kind == "compare":
            reply = compare_job(job)
        elif kind == "explain":
            reply = explain_job(text, job.get("input"), job.get("layer") or "")
        else:
            reply = download_job(kind, text, job.get("input"))
    except (ConvscopeError, LayerRuleError) as err:  # the user's input, as the CLI says it
        return error_reply(str(err), 400, line_of(text, err))
    except RecursionError:
        return error_reply("the description is nested too deeply to analyse", 400)
    if len(reply.body) > MAX_RESULT:
        return error_reply(f"the result is too large to send ({len(reply.body):,} bytes; the "
                           f"server's limit is {MAX_RESULT:,})", 400)
    return reply
