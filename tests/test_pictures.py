"""Pictures: SVG diagrams (structure, not pixels), PNG, plots, the HTML report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import convscope
from convscope import zoo
from convscope.analysis.topology import ELEMENTWISE
from convscope.render.data import report_json
from convscope.render.diagram import draw, to_png
from convscope.render.html import render_html
from convscope.render.plots import plot

SVG = "{http://www.w3.org/2000/svg}"
GOLDEN = Path(__file__).parent / "golden"


def analysis(model):
    graph = convscope.load(model)
    return graph, convscope.analyze(graph)


def layer_groups(svg: str):
    root = ET.fromstring(svg)  # valid XML, or this raises
    return root, [g for g in root.iter(f"{SVG}g") if "layer" in g.get("class", "").split()]


@pytest.mark.parametrize("model", ["lenet5", "alexnet", "vgg16"])
@pytest.mark.parametrize("style", ["blocks", "graph"])
def test_every_layer_of_a_chain_is_drawn_with_its_shape(model, style):
    _, report = analysis(model)
    _, groups = layer_groups(draw(report, style))
    drawn = {g.get("data-name"): g.get("data-shape") for g in groups}
    for s in report.layers:
        if s.kind in ELEMENTWISE:
            continue
        shape = "x".join(map(str, s.output_shape))
        assert s.name in drawn, s.name
        # the box shows the output of its last merged layer: the same shape
        assert drawn[s.name] == shape, (s.name, drawn[s.name], shape)


def test_googlenet_draws_each_inception_module_with_four_branches():
    _, report = analysis("googlenet")
    root, _ = layer_groups(draw(report))
    blocks = [g for g in root.iter(f"{SVG}g") if g.get("class") == "block"]
    assert [b.get("data-name") for b in blocks] == [
        "inception3a", "inception3b", "inception4a", "inception4b", "inception4c",
        "inception4d", "inception4e", "inception5a", "inception5b"]
    assert {b.get("data-branches") for b in blocks} == {"4"}
    shapes = {g.get("data-name"): g.get("data-shape") for g in root.iter(f"{SVG}g")
              if g.get("data-shape")}
    assert shapes["inception3a"] == "28x28x256" and shapes["inception5b"] == "7x7x1024"


def test_resnet50_folds_repeated_bottlenecks():
    _, report = analysis("resnet50")
    root, _ = layer_groups(draw(report))
    blocks = [(g.get("data-name"), int(g.get("data-repeat"))) for g in root.iter(f"{SVG}g")
              if g.get("class") == "block"]
    assert [r for _, r in blocks] == [1, 2, 1, 3, 1, 5, 1, 2]
    assert sum(r for _, r in blocks) == 16  # 3 + 4 + 6 + 3 bottleneck blocks


@pytest.mark.parametrize(("model", "style"), [("lenet5", "blocks"), ("googlenet", "blocks"),
                                              ("resnet50", "blocks"), ("resnet50", "graph")])
def test_svg_structure_snapshot(model, style, update_golden):
    _, report = analysis(model)
    root, groups = layer_groups(draw(report, style))
    lines = [f"{g.get('class')} {g.get('data-name')} {g.get('data-shape')} "
             f"x{g.get('data-repeat')}" for g in root.iter(f"{SVG}g") if g.get("class")]
    text = "\n".join(lines) + "\n"
    golden = GOLDEN / f"diagram_{model}_{style}.txt"
    if update_golden:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing: run pytest --update-golden once"
    assert text == golden.read_text()


def test_png_and_plots(tmp_path):
    _, report = analysis("lenet5")
    png = to_png(draw(report))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    for what in ("params", "macs", "memory", "rf"):
        target = plot(report, what, str(tmp_path / f"{what}.png"))
        assert target.read_bytes()[:4] == b"\x89PNG"
    assert plot(report, "rf", str(tmp_path / "rf.svg")).read_text().count("<svg") == 1


def test_html_report_is_self_contained_and_matches_the_json(tmp_path):
    graph, report = analysis("resnet18")
    html = render_html(report, graph)
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", html)
    assert "<script src" not in html and "<link" not in html
    embedded = json.loads(re.search(r"const REPORT = (.*?);\n", html).group(1))
    assert embedded == report_json(report)
    for s in report.layers:  # the table's numbers are the JSON's
        row = re.search(rf"<tr class='layer' data-index='{s.index}'>(.*?)</tr>", html).group(1)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells[4] == f"{s.params:,}" and cells[6] == f"{s.macs:,}"
    assert "Receptive field of &#x27;fc&#x27;: global" in html and "Conventions" in html


@pytest.mark.parametrize("model", zoo.names())
def test_every_zoo_drawing_fits_a_page_with_readable_text(model):
    """Blocks diagrams wrap their rows at 1,600 px: every zoo model fits in 2,400 x 2,400 px,
    no text is smaller than 10 px, and the legend names each kind drawn."""
    svg = draw(convscope.analyze(convscope.load(model)))
    root = ET.fromstring(svg)
    assert float(root.get("width")) <= 2400 and float(root.get("height")) <= 2400, model
    sizes = [float(t.get("font-size")) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert min(sizes) >= 10, model
    drawn = {g.get("data-type") for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("class", "").startswith("layer")}
    legend = {r.get("data-kind") for r in root.iter("{http://www.w3.org/2000/svg}rect")
              if r.get("data-kind")}
    assert legend and len(legend) <= len(drawn) + 8, model


def test_a_narrow_width_wraps_into_more_rows():
    report = convscope.analyze(convscope.load("resnet50"))
    wide, narrow = (ET.fromstring(draw(report, width=w)) for w in (6000, 800))
    assert float(wide.get("height")) < float(narrow.get("height"))
    assert float(narrow.get("width")) < float(wide.get("width"))
    wraps = [p for p in narrow.iter("{http://www.w3.org/2000/svg}polyline")
             if p.get("class") == "wrap"]
    assert len(wraps) >= 2
    with pytest.raises(convscope.ConvscopeError, match="width is in pixels"):
        draw(report, width=10)


def torchvision_resnet18():
    import torchvision  # a dev dependency (make test installs it): never skipped

    model = torchvision.models.resnet18()
    report = convscope.summary(model, input_size=(1, 3, 224, 224), print_fn=None)
    return model, report


def test_graph_edges_carry_the_shapes_pytorch_computes():
    """Each edge label names the layer it leaves; PyTorch's forward gives that module's
    output (N, C, H, W), written H x W x C as convscope writes shapes."""
    import torch

    model, report = torchvision_resnet18()
    root = ET.fromstring(draw(report, "graph"))
    labels = {t.get("data-from"): t.text for t in root.iter(f"{SVG}text")
              if t.get("class") == "edge-shape"}
    modules = dict(model.named_modules())
    measured = {}

    def keep(name):
        def hook(module, inputs, out):
            measured[name] = tuple(out.shape)
        return hook

    hooks = [modules[name].register_forward_hook(keep(name)) for name in labels
             if name in modules]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    assert len(measured) >= 10
    for name, shape in measured.items():
        n, c, *spatial = shape
        expected = "x".join(map(str, [*spatial, c])) if spatial else str(c)
        assert labels[name] == expected, name


def test_graph_groups_boxes_by_module_and_rolls_modules_up_to_a_depth():
    """Frames name the top-level modules holding submodules (PyTorch's named_children);
    at every depth the drawn boxes carry all of the model's parameters and batch-norm
    statistics (numel; convscope counts the running mean and variance as non-trainable
    parameters, as Keras does)."""
    model, report = torchvision_resnet18()
    root = ET.fromstring(draw(report, "graph"))
    frames = {g.get("data-name") for g in root.iter(f"{SVG}g") if g.get("class") == "module"}
    assert frames == {n for n, m in model.named_children() if any(True for _ in m.children())}
    numel = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    for depth in (None, 1, 2, 3):
        _, boxes = layer_groups(draw(report, "graph", depth=depth))
        assert sum(int(g.get("data-params")) * int(g.get("data-repeat")) for g in boxes) == numel
    _, top = layer_groups(draw(report, "graph", depth=1))
    children = {n for n, _ in model.named_children()}
    inputs = {name for name, _ in report.inputs}
    assert {g.get("data-name") for g in top} - inputs <= children | {"flatten"}
    with pytest.raises(convscope.ConvscopeError, match="graph style"):
        draw(report, "blocks", depth=1)


def test_html_report_offers_the_graph_at_each_module_depth():
    graph, report = analysis("resnet18")
    html = render_html(report, graph)
    depths = re.findall(r"class='diagram module-view' data-depth='(\w+)'", html)
    assert depths == ["1", "2", "3", "all"]  # names as deep as layer2.0.downsample.0
    graph, report = analysis("lenet5")  # names that are not module paths: no such section
    assert "module-view" not in render_html(report, graph)
