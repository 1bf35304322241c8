"""``convscope serve``: a local web page to edit a description and see the table, the
totals, the diagram and the errors as you type.

A Starlette app served by uvicorn on 127.0.0.1 by default. The page and its scripts are
served from the package (no CDN). Requests are limited in size; the text typed is a
description, parsed as data (YAML or the one-line form) and never executed: PyTorch
sources (``torchvision:``, ``file.py:``) are refused here.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import zoo
from ..analysis import analyze
from ..errors import ConvscopeError
from ..ir import Graph
from ..render import render
from ..render.data import report_json
from ..render.diagram import draw, to_png
from ..render.totals import totals_lines
from ..spec.locate import locate

MAX_BODY = 256 * 1024
STATIC = {"explorer.js": "text/javascript", "app.js": "text/javascript",
          "style.css": "text/css"}
DOWNLOADS = {"svg": ("image/svg+xml", "svg"), "png": ("image/png", "png"),
             "markdown": ("text/markdown", "md"), "json": ("application/json", "json"),
             "yaml": ("application/yaml", "yaml"), "pytorch": ("text/x-python", "py")}


def static_text(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text("utf-8")


def graph_of(text: str, input_shape: str | None = None) -> Graph:
    """The graph of an editor's text: YAML / JSON (a convscope description or a pasted
    Keras ``model.to_json()``, read as data), or the one-line form."""
    from ..spec.load import read_text
    from ..spec.oneline import parse_line
    from ..spec.parse import parse

    if not text.strip():
        raise ConvscopeError("the description is empty: pick a zoo model or type one")
    stripped = text.strip()
    if "\n" not in stripped and "|" in stripped:
        description: Any = parse_line(stripped)
    else:
        description = read_text(text, "editor", ".yaml")
    if not isinstance(description, dict):
        raise ConvscopeError("a description is a YAML mapping (input:, layers:) or a one-line "
                             "form like '32x32x1 | conv5-6 | maxpool2 | fc10'; PyTorch "
                             "sources are not loaded by the web page")
    from ..spec.args import parse_shape

    override = parse_shape(input_shape, "--input") if input_shape else None
    from ..keras.config import is_keras_config

    if is_keras_config(description):
        from ..keras import import_config

        return import_config(description, override)
    return parse(description, override)


async def body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ConvscopeError(f"request too large ({len(raw):,} bytes; the limit is "
                             f"{MAX_BODY:,})")
    try:
        data = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        raise ConvscopeError("the request is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("text", ""), str):
        raise ConvscopeError("the request needs a 'text' string")
    return data


def error_response(err: ConvscopeError, text: str, status: int = 200) -> JSONResponse:
    return JSONResponse({"ok": False, "error": {"message": str(err),
                                                "line": locate(text, str(err))}},
                        status_code=status)


async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(static_text("index.html"))


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return Response("not found", status_code=404)
    return Response(static_text(name), media_type=STATIC[name])


async def zoo_list(request: Request) -> JSONResponse:
    return JSONResponse([{"id": n} for n in zoo.names()])


async def zoo_text(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    if name not in zoo.names():
        return JSONResponse({"error": f"no zoo model '{name}'"}, status_code=404)
    return JSONResponse({"text": zoo.text(name)})


async def analyze_text(request: Request) -> JSONResponse:
    try:
        data = await body(request)
    except ConvscopeError as err:
        return error_response(err, "", 413)
    text = data.get("text", "")
    try:
        graph = graph_of(text, data.get("input") or None)
        report = analyze(graph)
        return JSONResponse({"ok": True, "report": report_json(report), "svg": draw(report),
                             "totals": "\n".join(totals_lines(report))})
    except ConvscopeError as err:
        return error_response(err, text)


async def explain(request: Request) -> JSONResponse:
    from ..teach.explain import explain_layer

    try:
        data = await body(request)
        graph = graph_of(data.get("text", ""), data.get("input") or None)
        return JSONResponse({"ok": True, "text": explain_layer(graph, str(data.get("layer")))})
    except ConvscopeError as err:
        return JSONResponse({"ok": False, "error": {"message": str(err)}})


async def download(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in DOWNLOADS:
        return Response("unknown download", status_code=404)
    try:
        data = await body(request)
        text = data.get("text", "")
        graph = graph_of(text, data.get("input") or None)
        content = export(kind, graph, text)
    except ConvscopeError as err:
        return error_response(err, "", 400)
    media, suffix = DOWNLOADS[kind]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in graph.name) or "model"
    return Response(content, media_type=media,
                    headers={"content-disposition": f"attachment; filename={name}.{suffix}"})


def export(kind: str, graph: Graph, text: str) -> str | bytes:
    report = analyze(graph)
    if kind == "svg":
        return draw(report)
    if kind == "png":
        return to_png(draw(report))
    if kind == "markdown":
        return render(report, "markdown")
    if kind == "json":
        return render(report, "json")
    if kind == "yaml":
        return text
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConvscopeError("PyTorch source needs PyTorch installed next to convscope") \
            from None
    from ..torch.source import graph_source

    return graph_source(graph)


def create_app() -> Starlette:
    return Starlette(routes=[
        Route("/", index), Route("/static/{name}", static), Route("/api/zoo", zoo_list),
        Route("/api/zoo/{name}", zoo_text), Route("/api/analyze", analyze_text,
                                                  methods=["POST"]),
        Route("/api/explain", explain, methods=["POST"]),
        Route("/api/download/{kind}", download, methods=["POST"]),
    ])


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    try:
        import uvicorn
    except ImportError:
        raise ConvscopeError("convscope serve needs uvicorn and starlette: pip install "
                             "'convscope[web]'") from None
    print(f"convscope: serving on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
