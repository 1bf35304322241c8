"""``convscope serve``: a local web page to edit a description and see the table, the
totals, the diagram and the errors as you type.

A Starlette app served by uvicorn on 127.0.0.1 by default. The page and its scripts are
served from the package (no CDN). The text typed is a description, parsed as data (YAML
or the one-line form) and never executed: PyTorch sources (``torchvision:``,
``file.py:``) are refused here.

Hostile input is expected (any web page the user visits can try to reach a local
server), so:

* every analysis runs in a worker process with a time limit and a memory budget
  (workers.py): a slow or huge description gets 504 / 400 while other requests and the
  pages keep being answered;
* request bodies are JSON only (415 otherwise), at most ``MAX_BODY`` bytes, refused
  while they are read (413); malformed requests get 400 with a message (guard.py);
* every answer carries a Content-Security-Policy and the other security headers, and a
  server bound to loopback answers only to loopback Host names (DNS rebinding).
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import zoo
from ..errors import ConvscopeError
from .guard import Guard, RequestError, allowed_hosts_for, error_json, is_loopback, read_json
from .jobs import DOWNLOADS, graph_of  # noqa: F401  (graph_of: for callers of the old API)
from .workers import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, DEFAULT_WORKERS, Pool

MAX_BODY = 256 * 1024
STATIC = {name: "text/javascript" for name in ("explorer.js", "share.js", "editor.js",
                                             "zoom.js", "compare.js", "app.js")}
STATIC["style.css"] = "text/css"


def static_text(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text("utf-8")


async def index(request: Request) -> HTMLResponse:
    return HTMLResponse(static_text("index.html"))


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(static_text(name), media_type=STATIC[name])


async def zoo_list(request: Request) -> JSONResponse:
    return JSONResponse([{"id": n} for n in zoo.names()])


async def zoo_text(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    if name not in zoo.names():
        return error_json(404, "no such zoo model")
    return JSONResponse({"text": zoo.text(name)})


async def run(request: Request, kind: str) -> Response:
    """Read and check the request here, do the work in a worker process."""
    fields = {"explain": ("layer",), "compare": ("other",)}.get(kind, ())
    try:
        data = await read_json(request, MAX_BODY, fields)
    except RequestError as err:
        response = error_json(err.status, str(err))
        if err.status == 413:  # close rather than read (and drop) the rest of the body
            response.headers["connection"] = "close"
        return response
    job = {"kind": kind, "text": data["text"], "input": data.get("input") or None,
           "layer": data.get("layer") or "", "other": data.get("other") or "",
           "batch": data.get("batch") or 1, "dtype": data.get("dtype") or None,
           "optimizer": data.get("optimizer") or None}
    pool: Pool = request.app.state.pool
    reply = await pool.run(job)
    headers = ({"content-disposition": f"attachment; filename={reply.filename}"}
               if reply.filename else None)
    return Response(reply.body, status_code=reply.status, media_type=reply.media,
                    headers=headers)


async def analyze_text(request: Request) -> Response:
    return await run(request, "analyze")


async def explain(request: Request) -> Response:
    return await run(request, "explain")


async def compare(request: Request) -> Response:
    return await run(request, "compare")


async def download(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in DOWNLOADS:
        return error_json(404, "unknown download; choose one of " + ", ".join(DOWNLOADS))
    return await run(request, kind)


def create_app(host: str = "127.0.0.1", workers: int = DEFAULT_WORKERS,
               time_limit: float = DEFAULT_TIME_LIMIT,
               memory_limit: int = DEFAULT_MEMORY_LIMIT) -> Guard:
    """The ASGI app for a server bound to ``host``. Its worker pool starts with the
    app's lifespan (or at the first analysis) and is closed at the lifespan's end and at
    interpreter exit; ``app.pool`` is the pool."""
    pool = Pool(workers, time_limit, memory_limit)
    atexit.register(pool.close)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool.start()
        try:
            yield
        finally:
            pool.close()

    app = Starlette(routes=[
        Route("/", index), Route("/static/{name}", static), Route("/api/zoo", zoo_list),
        Route("/api/zoo/{name}", zoo_text),
        Route("/api/analyze", analyze_text, methods=["POST"]),
        Route("/api/explain", explain, methods=["POST"]),
        Route("/api/compare", compare, methods=["POST"]),
        Route("/api/download/{kind}", download, methods=["POST"]),
    ], lifespan=lifespan)
    app.state.pool = pool
    return Guard(app, allowed_hosts_for(host), pool)


MAX_CONNECTIONS = 100  # open connections at once; more are answered 503 by uvicorn


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = DEFAULT_WORKERS,
          time_limit: float = DEFAULT_TIME_LIMIT,
          memory_limit: int = DEFAULT_MEMORY_LIMIT) -> None:
    try:
        import uvicorn
    except ImportError:
        raise ConvscopeError("convscope serve needs uvicorn and starlette: pip install "
                             "'convscope[web]'") from None
    if not is_loopback(host):
        print(f"convscope: WARNING: serving on {host}, reachable from OTHER MACHINES. The "
              "server has no authentication: anyone who can reach this address can use "
              "it. Use the default --host 127.0.0.1 unless you mean this.",
              file=sys.stderr, flush=True)
    shown = f"[{host}]" if ":" in host else host
    print(f"convscope: serving on http://{shown}:{port}/ (Ctrl+C to stop)", flush=True)
    # a bounded number of open connections (slow clients cannot pile up without end) and
    # idle keep-alive connections closed after 5 s
    uvicorn.run(create_app(host, workers, time_limit, memory_limit), host=host, port=port,
                log_level="warning", limit_concurrency=MAX_CONNECTIONS, timeout_keep_alive=5)
