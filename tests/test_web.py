"""The web page: its API (Starlette's test client) and an end-to-end run in headless
Chromium (Debian's chromium driven by Playwright), which also saves screenshots of the
page and of the HTML report for a person to look at: in the folder named by the environment
variable CONVSCOPE_ARTIFACTS when it is set, else in pytest's temporary folder (tests write
nowhere else)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import convscope
from convscope.render.html import render_html
from convscope.web.app import MAX_BODY

LENET = convscope.zoo.text("lenet5")


def test_zoo_endpoints(client):
    names = [r["id"] for r in client.get("/api/zoo").json()]
    assert "lenet5" in names and "resnet152" in names
    assert client.get("/api/zoo/lenet5").json()["text"] == LENET
    assert client.get("/api/zoo/nope").status_code == 404


def test_analyze_and_errors_with_lines(client):
    data = client.post("/api/analyze", json={"text": LENET}).json()
    assert data["ok"] and data["report"]["totals"]["params"] == 61706
    assert "Total params: 61,706 (241.04 KB)" in data["totals"]
    ET.fromstring(data["svg"])
    bad = LENET.replace("out_channels: 16, kernel_size: 5", "out_channels: 16, kernel_size: 15")
    data = client.post("/api/analyze", json={"text": bad}).json()
    assert not data["ok"]
    assert data["error"]["message"] == ("layers[2] 'Conv2' (conv): kernel 15 on axis H is "
                                        "larger than the padded input 14 (input 14, padding "
                                        "0+0)")
    assert bad.splitlines()[data["error"]["line"] - 1].lstrip().startswith("- {type: conv, "
                                                                            "name: Conv2")
    data = client.post("/api/analyze", json={"text": "input: [8, 8\nlayers: []"}).json()
    assert data["error"]["line"] == 2
    one = client.post("/api/analyze", json={"text": "32x32x3 | conv3-8 | gap | fc10",
                                            "input": "64x64x3"}).json()
    assert one["report"]["input"] == [64, 64, 3]


def test_sources_that_would_run_code_are_refused(client):
    data = client.post("/api/analyze", json={"text": "torchvision:resnet50"}).json()
    assert not data["ok"] and "PyTorch sources are not loaded" in data["error"]["message"]


def test_request_size_limit(client):
    res = client.post("/api/analyze", content=b"{" + b" " * (MAX_BODY + 10) + b"}",
                      headers={"content-type": "application/json"})
    assert res.status_code == 413 and "request too large" in res.json()["error"]["message"]


def test_explain_and_downloads(client):
    data = client.post("/api/explain", json={"text": LENET, "layer": "Conv1"}).json()
    assert "params = k*C_in*C_out + C_out = 5*5*1*6 + 6 = 156" in data["text"]
    expected = {"svg": b"<svg", "png": b"\x89PNG", "markdown": b"# lenet5",
                "json": b"{", "yaml": LENET[:20].encode(), "pytorch": b'"""lenet5: PyTorch'}
    for kind, start in expected.items():
        res = client.post(f"/api/download/{kind}", json={"text": LENET})
        assert res.status_code == 200, kind
        assert res.content.startswith(start), kind
        assert "attachment; filename=lenet5." in res.headers["content-disposition"]
    assert json.loads(client.post("/api/download/json", json={"text": LENET}).content)[
        "totals"]["params"] == 61706


# ------------------------------------------------------------- a real browser ---
# (the fixtures client, server, browser and artifacts: conftest.py)
def test_web_page_end_to_end(server, browser, tmp_path, artifacts):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.select_option("#zoo", "lenet5")
    page.wait_for_function(
        "() => document.getElementById('totals').textContent.includes('61,706')")
    # edit: FC1 with 100 units: 5*5*16*100+100 + 100*84+84 instead of 48,120 + 10,164
    expected = 156 + 2416 + (5 * 5 * 16 * 100 + 100) + (100 * 84 + 84) + (84 * 10 + 10)
    text = page.input_value("#text").replace("name: FC1, units: 120", "name: FC1, units: 100")
    page.fill("#text", text)
    page.wait_for_function(
        f"() => document.getElementById('totals').textContent.includes('{expected:,}')")
    assert f"Total params: {expected:,}" in page.text_content("#totals")
    # a click on a layer explains it and shows its receptive field
    page.click("tr.layer[data-index='3']")
    page.wait_for_function("() => document.getElementById('explanation').textContent"
                           ".includes('5*5*6*16 + 16 = 2,416')")
    assert "sees input rows" in page.text_content(".rf-info")
    page.screenshot(path=str(artifacts / "web_page.png"))
    # an error is shown next to its line
    page.fill("#text", text.replace("name: Conv2, out_channels: 16, kernel_size: 5",
                                    "name: Conv2, out_channels: 16, kernel_size: 15"))
    page.wait_for_function(
        "() => document.getElementById('error').textContent.includes('kernel 15')")
    assert "larger than the padded input 14" in page.text_content("#error")
    bad_line = page.text_content("#gutter .bad")
    assert "Conv2" in text.splitlines()[int(bad_line) - 1]
    page.screenshot(path=str(artifacts / "web_page_error.png"))
    # download the SVG of the good description
    page.fill("#text", text)
    page.wait_for_function("() => document.getElementById('error').textContent === ''")
    with page.expect_download() as info:
        page.click("button[data-kind='svg']")
    target = tmp_path / "net.svg"
    info.value.save_as(target)
    root = ET.parse(target).getroot()
    assert root.get("data-model") == "lenet5"
    assert not errors


def open_report(browser, tmp_path, model: str, errors: list[str]):
    """A new page on the HTML report of zoo model ``model`` (not yet loaded)."""
    graph = convscope.load(model)
    path = tmp_path / "report.html"
    path.write_text(render_html(convscope.analyze(graph), graph))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, path.as_uri()


def test_report_renders_in_the_browser(browser, tmp_path, artifacts):
    errors: list[str] = []
    page, url = open_report(browser, tmp_path, "googlenet", errors)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.click("tr.layer[data-index='5']")
    page.wait_for_function("document.querySelector('.rf-info').textContent.length > 0")
    assert not errors
    assert all(u.startswith(("file:", "data:")) for u in requests)  # nothing fetched
    page.screenshot(path=str(artifacts / "report.png"), full_page=False)


def test_report_opens_modules_one_depth_at_a_time(browser, tmp_path, artifacts):
    errors: list[str] = []
    page, url = open_report(browser, tmp_path, "resnet18", errors)
    page.goto(url)

    def shown():
        return page.eval_on_selector_all(".module-view", "vs => vs.filter(v => !v.hidden)"
                                                         ".map(v => v.dataset.depth)")

    assert shown() == ["1"]  # the top-level modules first
    page.click(".module-view[data-depth='1'] g.layer[data-name='layer2']")
    assert shown() == ["2"]  # layer2 opened: its blocks layer2.0 and layer2.1
    assert page.is_visible(".module-view[data-depth='2'] g.layer[data-name='layer2.0']")
    page.click(".depths button[data-depth='all']")
    assert shown() == ["all"]
    assert page.is_visible(".module-view[data-depth='all'] text.edge-shape")
    page.click(".module-view[data-depth='all'] g.layer[data-name='layer3.0.conv1']")
    page.wait_for_function("document.querySelector('.rf-info').textContent.length > 0")
    assert not errors
    page.screenshot(path=str(artifacts / "report_modules.png"), full_page=False)
