"""A web worker keeps its recent answers (web/jobs.py): the answer is a pure function of what
the text says and the settings, so a keystroke that leaves the description as it was (a
comment, spacing) is answered from memory, and any change to the description or the
settings is analysed again."""

from __future__ import annotations

import json

from convscope.web import jobs
from convscope.web.jobs import Recent, Reply, run_job

TEXT = "input: 28x28x1\nlayers:\n  - conv5-6\n  - relu\n  - maxpool2\n  - fc10\n"


def analyze(text: str, **settings) -> Reply:
    return run_job({"kind": "analyze", "text": text, **settings})


def test_a_comment_is_answered_from_memory(monkeypatch):
    monkeypatch.setattr(jobs, "RECENT", Recent())
    first = analyze(TEXT)
    calls = []
    monkeypatch.setattr(jobs, "analysis_reply", lambda *a: calls.append(a))
    again = analyze(TEXT + "# a comment\n\n")
    assert again == first and not calls
    conv, fc = 5 * 5 * 1 * 6 + 6, 12 * 12 * 6 * 10 + 10
    assert json.loads(again.body)["report"]["totals"]["params"] == conv + fc


def test_a_change_is_analysed_again(monkeypatch):
    monkeypatch.setattr(jobs, "RECENT", Recent())
    first = analyze(TEXT)
    other = analyze(TEXT.replace("fc10", "fc12"))
    batch = analyze(TEXT, batch=4)
    assert json.loads(other.body)["report"]["totals"]["params"] != \
        json.loads(first.body)["report"]["totals"]["params"]
    assert batch.body != first.body
    assert len(jobs.RECENT.replies) == 3


def test_errors_are_not_kept(monkeypatch):
    monkeypatch.setattr(jobs, "RECENT", Recent())
    assert analyze("input: 28x28x1\nlayers:\n  - conv50-6\n").status == 400
    assert not jobs.RECENT.replies


def test_the_memory_is_bounded():
    recent = Recent(most=2, budget=9)  # two bodies of 5 bytes pass the budget
    for key in "abc":
        recent.put(key, Reply(200, "application/json", b"12345"))
    assert list(recent.replies) == ["c"]
    recent = Recent(most=2, budget=100)  # a third entry passes ``most``
    for key in "abc":
        recent.put(key, Reply(200, "application/json", b"x"))
    assert list(recent.replies) == ["b", "c"]
    assert recent.get("b") is not None and list(recent.replies) == ["c", "b"]


def test_the_answer_holds_the_reports_json():
    """The report is embedded as ``convscope summary --format json`` writes it: the same
    values as the report's JSON data (render/data.py), the rest beside it."""
    import convscope
    import convscope.zoo
    from convscope.render.data import report_json

    answer = json.loads(jobs.analyze_job(convscope.zoo.text("resnet18"), None).body)
    assert answer["ok"] is True
    assert answer["report"] == report_json(convscope.analyze(convscope.load("resnet18")))
    assert set(answer) == {"ok", "report", "svg", "totals", "memory", "lint"}
    assert answer["svg"].startswith("<svg") and answer["memory"]["peak_bytes"] > 0
