"""The web page's editor (issue 14): a link holding the page, what-if settings with
training memory, a comparison, the highlighter and its gutter, the diagram's zoom and the
receptive-field explorer's zoom; through the API and in headless Chromium.

Expected numbers come from outside convscope's estimates: PyTorch's own measurement of
a training step on the meta device (convscope.pytorch.memory.measure_training_memory, as
in test_memory.py) and torchvision's models counted with numel(). Screenshots go to the
folder named by CONVSCOPE_ARTIFACTS, else to pytest's temporary folder."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
import torch  # a dev dependency (make test installs it): never skipped
import torchvision

import convscope

LENET = convscope.zoo.text("lenet5")
SMALL = "32x32x3 | conv3-8 | bn | relu | maxpool2 | conv3-16 | gap | fc10\n"


def measured(source: str, batch: int, dtype: str, optimizer: str) -> dict[str, int]:
    """PyTorch's numbers for one training step of ``source`` (a zoo name or a one-line
    description) on the meta device: its tensors' sizes, counted by PyTorch."""
    from convscope.pytorch.memory import measure_training_memory

    return measure_training_memory(convscope.load(source), batch, dtype, optimizer)


def params_of(model_name: str, part: str | None = None) -> int:
    with torch.device("meta"):
        model = getattr(torchvision.models, model_name)()
    module = getattr(model, part) if part else model
    return sum(p.numel() for p in module.parameters())


def new_page(browser, errors: list[str]):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def wait_text(page, selector: str, text: str) -> None:
    page.wait_for_function("([s, t]) => (document.querySelector(s) || {}).textContent"
                           "?.includes(t)", arg=[selector, text], timeout=30000)


def open_zoo_model(server, browser, errors: list[str], name: str, total: str):
    """The page with zoo model ``name`` chosen, once its totals show ``total``."""
    page = new_page(browser, errors)
    page.goto(server)
    page.select_option("#zoo", name)
    wait_text(page, "#totals", total)
    return page


# -------------------------------------------------------------------- the API ---
@pytest.mark.parametrize(("batch", "dtype", "optimizer"),
                         [(1, "float32", "adam"), (16, "float32", "sgd_momentum"),
                          (5, "bfloat16", "adamw")])
def test_api_what_if_memory_equals_pytorch(client, batch, dtype, optimizer):
    data = client.post("/api/analyze", json={"text": SMALL, "batch": batch, "dtype": dtype,
                                             "optimizer": optimizer}).json()
    assert data["ok"], data
    memory, torch_numbers = data["memory"], measured(SMALL.strip(), batch, dtype, optimizer)
    for key in ("activation_bytes", "param_bytes", "gradient_bytes", "optimizer_bytes"):
        assert memory[key] == torch_numbers[key], key
    assert f"per batch of {batch}" in data["totals"] or batch == 1


def test_api_refuses_bad_settings(client):
    for bad in ({"batch": 0}, {"batch": "8"}, {"batch": True}, {"batch": 10**7},
                {"dtype": 4}, {"optimizer": ["adam"]}):
        res = client.post("/api/analyze", json={"text": SMALL, **bad})
        assert res.status_code == 400 and res.json()["error"]["message"], bad
    res = client.post("/api/analyze", json={"text": SMALL, "dtype": "float31"}).json()
    assert "unknown dtype 'float31'" in res["error"]["message"]
    res = client.post("/api/analyze", json={"text": SMALL, "optimizer": "adm"}).json()
    assert res["ok"] and "Did you mean 'adam'?" in res["memory"]["error"]


def test_api_compare_ratios_equal_torchvision(client):
    data = client.post("/api/compare", json={"text": convscope.zoo.text("resnet18"),
                                             "other": convscope.zoo.text("resnet34")}).json()
    assert data["ok"] and data["labels"] == ["resnet18", "resnet34"]
    rows = {r["name"]: r for r in data["rows"]}
    assert rows["trainable params"]["values"] == [params_of("resnet18"), params_of("resnet34")]
    assert rows["trainable params"]["ratio"] == pytest.approx(
        params_of("resnet34") / params_of("resnet18"), rel=1e-12)
    stages = {s["name"]: s for s in data["stages"]}
    for stage, part in (("56x56", "layer1"), ("28x28", "layer2"), ("14x14", "layer3"),
                        ("7x7", "layer4")):
        assert stages[stage]["ratios"]["trainable_params"] == pytest.approx(
            params_of("resnet34", part) / params_of("resnet18", part), rel=1e-12), stage
    bad = client.post("/api/compare", json={"text": SMALL, "other": "8x8x1 | conv9-2"}).json()
    assert not bad["ok"] and bad["error"]["message"].startswith("the second description")


# ------------------------------------------------------------------ in Chromium ---
def test_a_link_reproduces_the_page(server, browser, artifacts):
    errors: list[str] = []
    page = new_page(browser, errors)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server)
    wait_text(page, "#totals", "Total params")
    page.fill("#text", SMALL)
    page.fill("#batch", "6")
    page.select_option("#dtype", "float16")
    page.select_option("#optimizer", "sgd")
    wait_text(page, "#memory caption", "batch 6, float16, sgd")
    page.wait_for_function("() => location.hash.startsWith('#z=')")
    page.wait_for_function("() => document.getElementById('text').value.length > 0")
    page.wait_for_timeout(400)  # the link follows the last change after 250 ms
    link, totals = page.url, page.text_content("#totals")
    memory = page.text_content("#memory")
    assert "conv3-16" not in link  # compressed, not the plain text
    # a new browser context: nothing shared with the first page but the link
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = context.new_page()
    other.on("pageerror", lambda e: errors.append(str(e)))
    other.on("request", lambda r: requests.append(r.url))
    other.goto(link)
    wait_text(other, "#memory caption", "batch 6, float16, sgd")
    assert other.input_value("#text") == SMALL
    assert (other.input_value("#batch"), other.input_value("#dtype"),
            other.input_value("#optimizer")) == ("6", "float16", "sgd")
    assert other.text_content("#totals") == totals and "per batch of 6" in totals
    assert other.text_content("#memory") == memory
    other.screenshot(path=str(artifacts / "web_shared_link.png"))
    # the plain form (browsers without CompressionStream) opens too
    plain = json.dumps({"text": "16x16x1 | conv3-4 | fc2", "batch": 3})
    other.goto(server + "#j=" + quote(plain))
    wait_text(other, "#memory caption", "batch 3")
    assert other.input_value("#text") == "16x16x1 | conv3-4 | fc2"
    # a damaged link starts the page as usual
    other.goto(server.rstrip("/") + "/?x#z=!!notbase64")
    wait_text(other, "#totals", "Total params")
    context.close()
    assert all(u.startswith(server) or u.startswith("data:") for u in requests), requests
    assert not any("#" in u for u in requests)  # the fragment never reaches the server
    assert not errors


def memory_bytes(page, key: str) -> int:
    return int(page.get_attribute(f"#memory tr[data-key='{key}'] td.bytes", "data-bytes"))


def test_changing_the_batch_changes_the_memory(server, browser, artifacts):
    errors: list[str] = []
    page = new_page(browser, errors)
    page.goto(server)
    page.select_option("#zoo", "cifar_resnet20")
    text = convscope.zoo.text("cifar_resnet20")
    wait_text(page, "#memory caption", "batch 1, float32, adam")
    page.wait_for_function("t => document.getElementById('text').value === t", arg=text)
    wait_text(page, "#memory caption", "batch 1")
    one = measured("cifar_resnet20", 1, "float32", "adam")
    page.wait_for_function(
        "n => document.querySelector(\"#memory tr[data-key='activation_bytes'] td.bytes\")"
        "?.dataset.bytes === String(n)", arg=one["activation_bytes"], timeout=30000)
    for batch, optimizer in ((32, "adam"), (7, "sgd_momentum")):
        page.fill("#batch", str(batch))
        page.select_option("#optimizer", optimizer)
        wait_text(page, "#memory caption", f"batch {batch}, float32, {optimizer}")
        torch_numbers = measured("cifar_resnet20", batch, "float32", optimizer)
        for key in ("activation_bytes", "param_bytes", "gradient_bytes", "optimizer_bytes"):
            assert memory_bytes(page, key) == torch_numbers[key], (batch, key)
        shown = page.text_content("#memory tr[data-key='activation_bytes']")
        assert f"{torch_numbers['activation_bytes']:,} B" in shown
        assert f"per batch of {batch}" in page.text_content("#totals")
    # the weights against numel() of the module PyTorch builds from the description
    from convscope.pytorch.build import GraphModule

    module = GraphModule(convscope.load("cifar_resnet20"))
    assert memory_bytes(page, "param_bytes") == 4 * sum(p.numel() for p in module.parameters())
    parts = ("param_bytes", "buffer_bytes", "gradient_bytes", "optimizer_bytes",
             "activation_bytes", "transient_bytes")
    assert memory_bytes(page, "peak_bytes") == sum(memory_bytes(page, k) for k in parts)
    page.screenshot(path=str(artifacts / "web_what_if.png"))
    assert not errors


def test_compare_two_zoo_models(server, browser, artifacts):
    errors: list[str] = []
    page = open_zoo_model(server, browser, errors, "resnet18", "11,699,112")
    page.click("#compare summary")
    page.select_option("#zoo2", "resnet34")
    row = "#comparison tr[data-metric='trainable params']"
    page.wait_for_selector(row, timeout=30000)
    expected = params_of("resnet34") / params_of("resnet18")
    assert page.text_content(f"{row} td.ratio") == f"{expected:.4g}x"
    assert float(page.get_attribute(f"{row} td.ratio", "data-ratio")) == pytest.approx(
        expected, rel=1e-12)
    assert f"{params_of('resnet34'):,}" in page.text_content(row)
    stage = "#comparison tr[data-stage='14x14'] td.ratio"
    layer3 = params_of("resnet34", "layer3") / params_of("resnet18", "layer3")
    assert page.text_content(stage) == f"{layer3:.4g}x"
    page.wait_for_timeout(400)
    page.locator("#comparison").screenshot(path=str(artifacts / "web_compare.png"))
    page.screenshot(path=str(artifacts / "web_compare_page.png"))
    # the comparison is part of the link
    other = new_page(browser, errors)
    other.goto(page.url)
    other.wait_for_selector(row, timeout=30000)
    assert other.text_content(f"{row} td.ratio") == f"{expected:.4g}x"
    assert not errors


def test_highlighter_and_gutter(server, browser, artifacts):
    errors: list[str] = []
    page = new_page(browser, errors)
    page.goto(server)
    wait_text(page, "#totals", "Total params")
    pipes = page.eval_on_selector_all("#highlight .hl-pipe", "xs => xs.length")
    assert pipes == page.input_value("#text").count("|")
    assert "conv5-6" in page.eval_on_selector_all("#highlight .hl-layer",
                                                  "xs => xs.map(x => x.textContent)")
    bad = LENET.replace("out_channels: 16, kernel_size: 5", "out_channels: 16, kernel_size: 15")
    bad = "# <img src=x onerror=window.__xss=1>\n" + bad
    page.fill("#text", bad)
    wait_text(page, "#error", "kernel 15")
    line = int(page.text_content("#gutter .bad"))
    assert "Conv2" in bad.splitlines()[line - 1]
    assert "kernel 15" in page.get_attribute("#gutter .bad", "title")
    keys = page.eval_on_selector_all("#highlight .hl-key", "xs => xs.map(x => x.textContent)")
    assert {"input", "layers", "type", "out_channels"} <= set(keys)
    assert page.text_content("#highlight .hl-comment").startswith("# <img")
    assert page.query_selector("#highlight img") is None
    assert page.evaluate("() => window.__xss") is None
    # the highlighted copy holds exactly the text typed
    assert page.text_content("#highlight") == bad + "\n"
    page.locator(".editor").screenshot(path=str(artifacts / "web_editor_error.png"))
    assert not errors


def view_box(page) -> list[float]:
    return [float(x) for x in page.get_attribute("#diagram svg", "viewBox").split()]


def test_diagram_zoom_pan_fit_and_the_explorer_zoom(server, browser, artifacts):
    errors: list[str] = []
    page = open_zoo_model(server, browser, errors, "resnet18", "11,699,112")
    fit = view_box(page)
    panel = page.locator("#diagram").bounding_box()
    svg = page.locator("#diagram svg").bounding_box()
    assert svg["width"] <= panel["width"] + 1 and svg["height"] <= panel["height"] + 1
    page.click("#zoom-in")
    zoomed = view_box(page)
    assert zoomed[2] == pytest.approx(fit[2] / 1.25, rel=1e-6)
    x, y = panel["x"] + panel["width"] / 2, panel["y"] + panel["height"] / 2
    page.mouse.move(x, y)
    page.mouse.wheel(0, -200)
    assert view_box(page)[2] < zoomed[2]
    before = view_box(page)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 120, y - 40, steps=5)
    page.mouse.up()
    after = view_box(page)
    assert after[0] > before[0] and after[1] > before[1] and after[2] == before[2]
    page.screenshot(path=str(artifacts / "web_diagram_zoomed.png"))
    page.click("#zoom-fit")
    assert view_box(page) == pytest.approx(fit)
    # the explorer: a 7x7 field on a 224x224 input is shown zoomed in, not as a dot
    page.click("tr.layer[data-index='1']")  # conv1, 7x7 stride 2
    wait_text(page, ".rf-info", "conv1 output")
    info = page.text_content(".rf-info")
    r0, r1, c0, c1 = map(int, re.search(r"rows (-?\d+)\.\.(\d+), columns (-?\d+)\.\.(\d+)",
                                        info).groups())
    view = [int(v) for v in page.get_attribute(".rf-input", "data-view").split(",")]
    assert view[2] < 224 and view[3] < 224  # a window, not the whole input
    assert view[0] <= max(r0, 0) and r1 <= view[0] + view[2] - 1
    assert view[1] <= max(c0, 0) and c1 <= view[1] + view[3] - 1
    assert page.locator(".rf-input").bounding_box()["width"] >= 200
    assert "zoomed to the region" in page.text_content(".rf-view")
    page.locator("#explorer").screenshot(path=str(artifacts / "web_explorer_zoom.png"))
    assert not errors


def test_the_table_folds_by_block(server, browser, artifacts):
    """Consecutive layers of one module sit under a row that folds them; its sums are
    PyTorch's numel of that module (and of its batch-norm statistics)."""
    errors: list[str] = []
    page = open_zoo_model(server, browser, errors, "resnet18", "11,699,112")
    with torch.device("meta"):
        layer2 = torchvision.models.resnet18().layer2
    expected = sum(p.numel() for p in layer2.parameters()) + sum(
        b.numel() for n, b in layer2.named_buffers() if not n.endswith("num_batches_tracked"))
    row = page.locator("tr.block", has=page.locator("button[data-block='layer2']"))
    assert f"{expected:,}" in row.text_content()
    inside = "#table tr[data-in-block='layer2']"
    count = page.locator(inside).count()
    assert count >= 10 and page.locator(f"{inside}:visible").count() == count
    page.click("button[data-block='layer2']")
    assert page.locator(f"{inside}:visible").count() == 0
    assert page.locator("#table tr[data-in-block='layer3']:visible").count() > 0
    page.fill("#batch", "3")  # a new analysis keeps the fold
    page.wait_for_timeout(1500)
    assert page.locator(f"{inside}:visible").count() == 0
    page.click("button[data-block='layer2']")
    assert page.locator(f"{inside}:visible").count() == count
    assert not errors
    page.locator("#table").screenshot(path=str(artifacts / "web_table_folded.png"))
