"""What the web server checks before any work: the Host header (DNS rebinding), the
security headers of every answer, and the request body (JSON only, size limited while it
is read, UTF-8, the expected fields)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BATCH = 1_000_000  # samples per batch in a what-if analysis
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
#: the page's scripts and style sheet are static files of the same origin: no inline
#: script or style, no plugins, no framing, no form posts, no fetch elsewhere
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class RequestError(Exception):
    """A request refused before any analysis: an HTTP status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error_json(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": {"message": message, "line": None}},
                        status_code=status)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header without its port ('' when malformed)."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = (value[1:end], value[end + 1:]) if end > 0 else ("", "")
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return ""
    return name


def allowed_hosts_for(bind: str) -> frozenset[str] | None:
    """The Host names accepted when bound to ``bind``: the loopback names when it is a
    loopback address, else any (None)."""
    if not is_loopback(bind):
        return None
    return LOOPBACK_NAMES | {bind.strip().strip("[]").lower()}


class Guard:
    """ASGI middleware around the whole app: refuses foreign Host headers (421) when
    bound to loopback and adds the security headers to every answer."""

    def __init__(self, app: ASGIApp, allowed_hosts: frozenset[str] | None,
                 pool: Any = None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.pool = pool  # the app's worker pool (workers.Pool), for tests and shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message,
                           "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        if self.allowed_hosts is not None:
            hosts = [v for k, v in scope.get("headers", []) if k == b"host"]
            name = host_name(hosts[0].decode("latin-1")) if len(hosts) == 1 else ""
            if name not in self.allowed_hosts:
                response = error_json(421, "this server answers only to 127.0.0.1, localhost "
                                      "or [::1] (the Host header names another site: a DNS "
                                      "rebinding attempt?)")
                await response(scope, receive, send_secured)
                return
        await self.app(scope, receive, send_secured)


def _check_headers(request: Request, limit: int) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise RequestError(415, "send the request as JSON (Content-Type: application/json)")
    length = request.headers.get("content-length")
    if length is not None:
        length = length.strip()
        if not length.isdigit():
            raise RequestError(400, "the Content-Length header is not a number")
        if len(length) > 15 or int(length) > limit:
            raise RequestError(413, f"request too large ({int(length[:15]):,}"
                               f"{'...' if len(length) > 15 else ''} bytes; the limit is "
                               f"{limit:,})")


async def read_json(request: Request, limit: int, fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, read at most ``limit`` bytes into memory: a longer body
    is refused (413) as soon as it passes the limit, before the rest is read. ``text`` must
    be a string; ``input``, ``dtype``, ``optimizer`` and the names in ``fields`` strings or
    null; ``batch`` a whole number from 1 to ``MAX_BATCH`` or null."""
    _check_headers(request, limit)
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise RequestError(413, f"request too large (more than {limit:,} bytes, the "
                                   "limit)")
    except ClientDisconnect:
        raise RequestError(400, "the client disconnected") from None
    try:
        data = json.loads(bytes(raw))
    except RecursionError:
        raise RequestError(400, "the request's JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise RequestError(400, "the request is not valid UTF-8") from None
    except ValueError as err:
        raise RequestError(400, f"the request is not valid JSON ({err})") from None
    _check_fields(data, fields)
    return data


def _check_fields(data: Any, fields: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise RequestError(400, "the request must be a JSON object with a 'text' string")
    if not isinstance(data.get("text"), str):
        raise RequestError(400, "the request needs a 'text' string (the description)")
    strings = ("input", "dtype", "optimizer", *fields)
    for name in strings:
        if data.get(name) is not None and not isinstance(data[name], str):
            raise RequestError(400, f"'{name}' must be a string, like \"64x64x3\""
                               if name == "input" else f"'{name}' must be a string")
    batch = data.get("batch")
    if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool)
                              or not 1 <= batch <= MAX_BATCH):
        raise RequestError(400, f"'batch' must be a whole number from 1 to {MAX_BATCH:,}")
    for name in ("text", *strings):
        try:
            (data.get(name) or "").encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(400, f"'{name}' holds an invalid character (a lone "
                               "surrogate)") from None

