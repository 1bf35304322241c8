"""The web server under hostile input (issue 12): slow and huge analyses run in worker
processes with a time and memory budget while other requests are answered; bodies are
limited while they are read; malformed requests get 400 with a message; security headers,
the Host check (DNS rebinding) and JSON-only POSTs; layer names shown as text in Chromium;
``serve``'s options checked by argparse.

Servers listen on 127.0.0.1 only; every loop is bounded in count and time; every worker
process is stopped by the fixture that started it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import convscope.zoo
from convscope.cli import main
from convscope.web.app import MAX_BODY, create_app, static_text
from webserver import chromium, running

LENET = convscope.zoo.text("lenet5")
SMALL = "32x32x1 | conv5-6 | maxpool2 | conv5-16 | maxpool2 | fc120 | fc84 | fc10"
# 100,000 layers: parsing, analysing and serialising take seconds (and 50 MB of JSON)
SLOW = "8x8x3 | conv3-8 | relu *100000 | fc10"
BOMB = ('input: 8x8x3\nblocks:\n  b:\n    params: {n: 1}\n    layers:\n'
        '      - {type: conv, out_channels: "${10**10**10}", kernel_size: 1}\n'
        'layers:\n  - {type: b}\n')
XSS = "<img src=x onerror=window.__xss=1>"
XSS_TEXT = (f'input: 8x8x1\nlayers:\n  - {{type: conv, name: "{XSS}", out_channels: 2, '
            'kernel_size: 3}\n  - {type: fc, units: 2}\n')
TIME_LIMIT = 2.0
JSON_HEADERS = {"content-type": "application/json"}


def worker_alive(pid: int) -> bool:
    """Whether a convscope worker with this pid still runs (not merely a reused pid)."""
    try:
        return b"convscope.web.workers" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.fixture(scope="module")
def app():
    return create_app(time_limit=TIME_LIMIT)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        yield c


@pytest.fixture(scope="module")
def server():
    """A real uvicorn server on 127.0.0.1 (its lifespan starts and stops the workers)."""
    app = create_app(time_limit=TIME_LIMIT)
    with running(app) as base:
        yield base, app
    assert not app.pool.pids()


# -------------------------------------------------- one request does not block others ---
def test_slow_request_does_not_block_the_others(server):
    import httpx2 as httpx

    base, app = server
    slow: dict[str, object] = {}

    def post_slow() -> None:
        with httpx.Client(base_url=base, timeout=30) as c:
            start = time.perf_counter()
            res = c.post("/api/analyze", json={"text": SLOW})
            slow.update(status=res.status_code, body=res.json(),
                        seconds=time.perf_counter() - start)

    with httpx.Client(base_url=base, timeout=30) as c:
        assert c.post("/api/analyze", json={"text": SMALL}).status_code == 200  # warm
        pids = app.pool.pids()
        thread = threading.Thread(target=post_slow)
        thread.start()
        time.sleep(0.3)
        small = []
        for _ in range(3):
            start = time.perf_counter()
            res = c.post("/api/analyze", json={"text": SMALL})
            small.append(time.perf_counter() - start)
            assert res.status_code == 200 and res.json()["ok"]
        start = time.perf_counter()
        assert c.get("/").status_code == 200 and c.get("/static/app.js").status_code == 200
        pages = time.perf_counter() - start
        assert "status" not in slow, "the slow request should still be running"
        thread.join(TIME_LIMIT + 20)
        print(f"\nsmall analyses during a slow one: {[round(s * 1000) for s in small]} ms; "
              f"pages {pages * 1000:.0f} ms; slow one answered {slow['status']} after "
              f"{slow['seconds']:.2f} s")
        assert max(small) < 1.5 and pages < 1.0
        assert slow["status"] == 504, slow
        assert "longer than 2 s" in slow["body"]["error"]["message"]
        assert slow["seconds"] < TIME_LIMIT + 5
        # the stuck worker was killed and replaced; the pool answers as before
        assert app.pool.replaced >= 1
        assert any(not worker_alive(pid) for pid in pids)
        assert len(app.pool.pids()) == app.pool.size
        assert c.post("/api/analyze", json={"text": SMALL}).json()["ok"]


def test_expression_bomb_is_refused_or_stopped(client):
    start = time.perf_counter()
    res = client.post("/api/analyze", json={"text": BOMB})
    assert res.status_code in (400, 504), res.text
    assert time.perf_counter() - start < TIME_LIMIT + 5
    assert res.json()["error"]["message"]
    assert client.post("/api/analyze", json={"text": SMALL}).json()["ok"]


def test_memory_budget_per_worker():
    app = create_app(workers=1, time_limit=30, memory_limit=32 * 1024**2)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        res = c.post("/api/analyze", json={"text": "8x8x3 | conv3-8 | relu *50000 | fc10"})
        assert res.status_code == 400
        assert "more memory than the server allows (32 MB" in res.json()["error"]["message"]
        assert app.pool.replaced == 1
        assert c.post("/api/analyze", json={"text": SMALL}).json()["ok"]
        pids = app.pool.pids()
    assert pids and not any(worker_alive(pid) for pid in pids)


def test_workers_are_stopped_with_the_app():
    app = create_app(workers=2)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.post("/api/analyze", json={"text": SMALL}).json()["ok"]
        pids = app.pool.pids()
        assert len(pids) == 2 and all(worker_alive(pid) for pid in pids)
    assert not app.pool.pids()
    assert not any(worker_alive(pid) for pid in pids)


# ------------------------------------------------------------- malformed requests: 400 ---
MALFORMED = [
    ("/api/analyze", b"{not json", "not valid JSON"),
    ("/api/analyze", b"", "not valid JSON"),
    ("/api/analyze", b"\xff\xfe\x00{", "not valid"),
    ("/api/analyze", b'{"text": "8x8x1 | fc2 \xff\xfe"}', "not valid UTF-8"),
    ("/api/analyze", b"null", "JSON object"),
    ("/api/analyze", b"[1, 2]", "JSON object"),
    ("/api/analyze", b'"text"', "JSON object"),
    ("/api/analyze", b"[" * 100_000, "nested too deeply"),
    ("/api/analyze", b'{"input": "8x8x1"}', "'text' string"),
    ("/api/analyze", b'{"text": 5}', "'text' string"),
    ("/api/analyze", b'{"text": NaN}', "'text' string"),
    ("/api/analyze", b'{"text": ["8x8x1"]}', "'text' string"),
    ("/api/analyze", b'{"text": "\\ud800"}', "invalid character"),
    ("/api/analyze", b'{"text": "8x8x1 | fc2", "input": 5}', "'input' must be a string"),
    ("/api/analyze", b'{"text": "8x8x1 | fc2", "input": [8, 8, 1]}', "'input' must be"),
    ("/api/analyze", b'{"text": "8x8x1 | fc2", "input": {"a": 1}}', "'input' must be"),
    ("/api/analyze", b'{"text": "8x8x1 | fc2", "input": "abc"}', ""),
    ("/api/analyze", b'{"text": "8x8x1 | fc2", "input": "0x8x1"}', ""),
    ("/api/analyze", b'{"text": "8x8x1 | fc2", "input": "-8x8x1"}', ""),
    ("/api/analyze", b'{"text": ""}', "empty"),
    ("/api/analyze", b'{"text": "[[[["}', ""),
    ("/api/analyze", b'{"text": "torchvision:resnet50"}', "PyTorch sources"),
    ("/api/explain", b'{"text": "8x8x1 | fc2", "layer": 5}', "'layer' must be a string"),
    ("/api/explain", b'{"text": "8x8x1 | fc2", "layer": "nope"}', ""),
    ("/api/download/svg", b'{"text": 1}', "'text' string"),
    ("/api/download/png", b'{"text": "8x8x1 | fc2", "input": true}', "'input' must be"),
]


@pytest.mark.parametrize(("url", "body", "message"), MALFORMED,
                         ids=[f"{i}-{m or 'description'}" for i, (_, _, m) in
                              enumerate(MALFORMED)])
def test_malformed_requests_get_400_with_a_message(client, url, body, message):
    res = client.post(url, content=body, headers=JSON_HEADERS)
    assert res.status_code == 400, res.text
    data = res.json()
    assert data["ok"] is False and message in data["error"]["message"]
    assert "Traceback" not in data["error"]["message"]


def test_unknown_download_and_zoo_are_404(client):
    res = client.post("/api/download/exe", json={"text": SMALL})
    assert res.status_code == 404 and "unknown download" in res.json()["error"]["message"]
    assert client.get("/api/zoo/%3Cscript%3E").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


# -------------------------------------------------------------------- body size limit ---
def asgi_post(app, headers: list[tuple[bytes, bytes]], chunks: int, chunk: int = 65536):
    """POST to /api/analyze straight through the ASGI app with a body of ``chunks``
    chunks; the status answered and the number of body bytes the app pulled."""
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        if pulled >= chunks * chunk:
            return {"type": "http.disconnect"}
        pulled += chunk
        return {"type": "http.request", "body": b" " * chunk,
                "more_body": pulled < chunks * chunk}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/api/analyze", "raw_path":
             b"/api/analyze", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8000"), *headers],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], pulled


def test_body_limit_is_enforced_while_reading(app):
    ctype = (b"content-type", b"application/json")
    hundred_mb = 100 * 1024 * 1024 // 65536
    # announced too large: refused before one byte is read
    status, pulled = asgi_post(app, [ctype, (b"content-length", b"104857600")], hundred_mb)
    assert (status, pulled) == (413, 0)
    # streamed (chunked, no length): refused once past the limit, the rest never read
    status, pulled = asgi_post(app, [ctype], hundred_mb)
    assert status == 413 and pulled <= MAX_BODY + 65536
    # the limit itself is fine (then the JSON is judged: spaces only -> 400)
    status, pulled = asgi_post(app, [ctype], MAX_BODY // 65536)
    assert status == 400 and pulled == MAX_BODY


def test_streamed_100_mb_body_is_refused_early(server):
    import httpx2 as httpx

    base, _ = server
    sent = 0

    def body():
        nonlocal sent
        for _ in range(1600):  # 1,600 x 64 KB = 100 MB
            sent += 65536
            yield b" " * 65536

    start = time.perf_counter()
    try:
        with httpx.Client(base_url=base, timeout=20) as c:
            res = c.post("/api/analyze", content=body(), headers=JSON_HEADERS)
            assert res.status_code == 413
            assert "request too large" in res.json()["error"]["message"]
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        pass  # the server answered 413 and closed the connection while we still wrote
    print(f"\n100 MB body: refused after {sent:,} bytes were handed to the socket")
    assert sent < 32 * 1024 * 1024, f"{sent:,} bytes went out before the refusal"
    assert time.perf_counter() - start < 20


def test_content_length_too_large_is_413(client):
    big = b'{"text": "' + b" " * MAX_BODY + b'"}'
    res = client.post("/api/analyze", content=big, headers=JSON_HEADERS)
    assert res.status_code == 413 and "request too large" in res.json()["error"]["message"]


# ------------------------------------------------------ headers, Host, content type ---
def check_security_headers(headers) -> None:
    csp = headers["content-security-policy"]
    for part in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                 "object-src 'none'", "base-uri 'none'"):
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_security_headers_on_every_answer(client):
    answers = [client.get("/"), client.get("/static/app.js"), client.get("/api/zoo"),
               client.get("/static/nope"), client.post("/api/analyze", json={"text": SMALL}),
               client.post("/api/analyze", json={"text": 5}),
               client.post("/api/analyze", content=b"x", headers={"content-type": "text/plain"}),
               client.get("/", headers={"host": "evil.example"})]
    for res in answers:
        check_security_headers(res.headers)
    assert answers[1].headers["content-type"].startswith("text/javascript")


def test_page_has_no_inline_script_or_style():
    html = static_text("index.html")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attrs and not body.strip()
                           for attrs, body in scripts)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son\w+\s*=", html)
    for name in ("app.js", "explorer.js"):
        assert "innerHTML" not in static_text(name) and "eval(" not in static_text(name)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8000", "localhost", "LOCALHOST:1",
                                  "[::1]", "[::1]:8000"])
def test_loopback_host_names_are_accepted(client, host):
    assert client.get("/api/zoo", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "localhost:abc", "::1", "[::1",
                                  "127.0.0.1:8000:1", "", "0.0.0.0", "192.168.1.1:8000"])
def test_other_host_names_are_refused(client, host):
    res = client.post("/api/analyze", json={"text": SMALL}, headers={"host": host})
    assert res.status_code == 421 and "DNS rebinding" in res.json()["error"]["message"]
    assert client.get("/", headers={"host": host}).status_code == 421


def test_any_host_when_bound_elsewhere():
    with TestClient(create_app(host="0.0.0.0"), base_url="http://my-machine.lan") as c:
        assert c.get("/api/zoo").status_code == 200
        check_security_headers(c.get("/").headers)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "", "application/jsonx",
                                   "text/json"])
def test_post_requires_json_content_type(client, ctype):
    headers = {"content-type": ctype} if ctype else {}
    for url in ("/api/analyze", "/api/explain", "/api/download/svg"):
        res = client.post(url, content=json.dumps({"text": SMALL}).encode(), headers=headers)
        assert res.status_code == 415, (url, ctype)
        assert "Content-Type: application/json" in res.json()["error"]["message"]


def test_json_with_charset_is_fine(client):
    res = client.post("/api/analyze", content=json.dumps({"text": SMALL}).encode(),
                      headers={"content-type": "Application/JSON; charset=utf-8"})
    assert res.status_code == 200 and res.json()["ok"]


# ------------------------------------------------------------------- serve's options ---
@pytest.mark.parametrize("argv", [["--port", "99999"], ["--port", "0"], ["--port", "-1"],
                                  ["--port", "abc"], ["--port", "80.5"], ["--port", ""],
                                  ["--workers", "0"], ["--time-limit", "nan"],
                                  ["--time-limit", "0"], ["--memory-limit", "1"]])
def test_serve_options_are_checked(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {argv[0]}:" in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 150


def test_serve_warns_loudly_off_loopback(capsys, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) in (0, None)
    err = capsys.readouterr().err
    assert "WARNING" in err and "OTHER MACHINES" in err
    assert main(["serve", "--port", "8124", "--workers", "3", "--time-limit", "5"]) in (0, None)
    assert "WARNING" not in capsys.readouterr().err
    bounded = {"log_level": "warning", "limit_concurrency": 100, "timeout_keep_alive": 5}
    assert calls == [{"host": "0.0.0.0", "port": 8123, **bounded},
                     {"host": "127.0.0.1", "port": 8124, **bounded}]


# ------------------------------------------------------------------ XSS, in Chromium ---
def test_layer_names_are_text_not_html(client):
    data = client.post("/api/analyze", json={"text": XSS_TEXT}).json()
    assert data["ok"] and data["report"]["layers"][1]["name"] == XSS
    assert "<img" not in data["svg"]  # escaped in the SVG as well


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "without-csp"])
def test_xss_layer_name_is_shown_as_text(server, browser, bypass_csp):
    """The name reaches the page as text: no <img> is made, its handler never runs, and
    this holds without the CSP too (the CSP is a second wall, not the first)."""
    base, _ = server
    context = browser.new_context(bypass_csp=bypass_csp)
    page = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: console.append(m.text))
    try:
        page.goto(base + "/")
        page.wait_for_function("() => document.getElementById('totals').textContent"
                               ".includes('61,706')", timeout=20000)
        page.fill("#text", XSS_TEXT)
        page.wait_for_function("(name) => document.getElementById('table').textContent"
                               ".includes(name)", arg=XSS, timeout=20000)
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__xss") is None
        assert page.locator("img").count() == 0
        assert XSS in page.text_content("tr.layer[data-index='1'] td")
        assert XSS in page.text_content("#explorer .rf-info")
        # a message with markup in it is text too
        page.fill("#text", XSS_TEXT.replace("type: fc", f"type: '{XSS}'"))
        page.wait_for_function("() => document.getElementById('error').textContent"
                               ".length > 0", timeout=20000)
        assert page.locator("img").count() == 0
        assert page.evaluate("() => window.__xss") is None
        assert not errors
        assert not [m for m in console if "Content Security Policy" in m], console
    finally:
        context.close()


def test_csp_blocks_injected_inline_script(server, browser):
    """The CSP is in force on the page: an inline handler added by markup does not run."""
    base, _ = server
    page = browser.new_page()
    try:
        page.goto(base + "/")
        page.evaluate("() => { document.body.insertAdjacentHTML('beforeend', "
                      "'<img src=x onerror=\"window.__csp=1\">'); }")
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.__csp") is None
    finally:
        page.close()


def test_no_worker_outlives_its_app(app, server):
    """Of the pools started in this module, only the two still open have workers: every
    other one was stopped with its app (checked by name, among this process' children)."""
    ours = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            ppid = re.search(r"PPid:\s+(\d+)", status)
            if b"convscope.web.workers" in cmd and ppid and int(ppid.group(1)) == os.getpid():
                ours.add(int(entry))
    assert ours == set(app.pool.pids()) | set(server[1].pool.pids())


def test_workers_never_import_the_users_files(tmp_path, monkeypatch):
    """A difflib.py (or yaml.py, ...) in the folder the server is started from is never
    imported by the analysis workers (python -c would put that folder first on sys.path)."""
    for module in ("difflib", "yaml", "json"):
        (tmp_path / f"{module}.py").write_text(
            "open(__file__ + '.imported', 'w').write('x')\n")
    monkeypatch.chdir(tmp_path)
    with TestClient(create_app(workers=1), base_url="http://127.0.0.1") as c:
        reply = c.post("/api/analyze", json={"text": "8x8x3 | relx"})  # asks difflib
        assert reply.status_code == 400 and "relu" in reply.json()["error"]["message"]
        assert c.post("/api/analyze", json={"text": "input: 8x8x3\nlayers: [{type: relu}]"}
                      ).status_code == 200
    assert not list(tmp_path.glob("*.imported"))


STALLED = """
import resource, sys, time
from multiprocessing.connection import Connection
conn = Connection(int(sys.argv[1]))
size = int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmSize:')))
resource.setrlimit(resource.RLIMIT_AS, (size * 1024 + 16 * 1024**2, resource.RLIM_INFINITY))
mode = sys.argv[2]
if mode == 'answer':
    conn.send('done')
held = []
while mode == 'stall':  # at the cap, never answering (what a stuck worker looks like)
    try:
        held.append(bytearray(256 * 1024))
    except MemoryError:
        pass
time.sleep(30)
"""


@pytest.mark.parametrize(("mode", "expected"), [("answer", "reply"), ("stall", "memory"),
                                                ("sleep", "time")])
def test_a_worker_stalled_at_its_memory_cap_is_told_apart(mode, expected):
    import socket
    import subprocess
    import sys
    from multiprocessing.connection import Connection

    from convscope.web.memory_watch import wait_for_reply

    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-c", STALLED, str(theirs.fileno()), mode],
                            pass_fds=(theirs.fileno(),))
    theirs.close()
    conn = Connection(ours.detach())
    try:
        start = time.perf_counter()
        assert wait_for_reply(conn, proc.pid, 6.0) == expected
        if expected == "memory":  # told apart well before the time limit
            assert time.perf_counter() - start < 5.5
    finally:
        proc.kill()  # only the process this test started
        proc.wait()
        conn.close()
