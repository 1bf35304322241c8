"""Inline display in notebooks: the reprs called directly (what Jupyter calls), and one
small notebook executed by nbclient in a real kernel."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

import convscope
from convscope import Sequential
from convscope import layers as L
from convscope.analysis.report import Report
from convscope.render import render


class Cells(HTMLParser):
    """The text of every <td> / <th> and the tags seen."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._in = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


def test_summary_displays_its_table_with_totals_and_conventions():
    report = convscope.summary("resnet18", print_fn=None)
    assert isinstance(report, Report) and report.totals.params == 11_699_112
    html = report._repr_html_()
    parser = Cells()
    parser.feed(html)
    assert "script" not in parser.tags and "style" not in parser.tags
    for stats in report.layers:
        assert f"{stats.name} ({stats.type})" in parser.cells
    assert "Total params: 11,699,112" in html and "<details>" in html
    assert "KB = 1024 B" in html  # the conventions travel with the numbers
    assert report._repr_markdown_() == render(report, "markdown")
    assert str(report) == render(report, "table")


def test_names_are_escaped():
    model = {"name": "<script>alert(1)</script>", "input": "8x8x3",
             "layers": [{"type": "conv", "out_channels": 4, "kernel_size": 3,
                         "name": "a<b>&c"}]}
    html = convscope.summary(model, print_fn=None)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "a&lt;b&gt;&amp;c" in html


def test_models_and_depth_display():
    model = Sequential([L.Conv2D(6, 5), L.ReLU(), L.Flatten(), L.Dense(10)],
                       input_shape="28x28x1")
    # conv 5*5*1*6 + 6 = 156; dense on the flattened 24*24*6 = 3,456 values: 34,560 + 10
    assert "Total params: 34,726" in model._repr_html_()
    assert isinstance(model.summary(print_fn=None), convscope.display.Summary)
    rolled = convscope.summary("resnet18", depth=1, print_fn=None)
    assert "layer1" in rolled._repr_html_()


def test_a_diagram_displays_as_svg_and_png(tmp_path):
    diagram = convscope.draw("lenet5")
    root = ET.fromstring(diagram._repr_svg_())
    assert root.tag.endswith("svg")
    assert diagram._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")
    assert diagram.save(tmp_path / "l.svg").read_text().startswith("<svg")
    assert (tmp_path / "l.png").exists() is False
    assert diagram.save(tmp_path / "l.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(convscope.ConvscopeError, match="saved as .svg or .png"):
        diagram.save(tmp_path / "l.gif")


def test_input_size_is_torchinfos_batch_first_channels_first():
    from convscope.display import torchinfo_shapes

    assert torchinfo_shapes((2, 3, 224, 224)) == (2, [(224, 224, 3)])
    assert torchinfo_shapes([(1, 3, 32, 32), (1, 8, 16)]) == (1, [(32, 32, 3), (16, 8)])
    for bad in ((3,), [(1, 3, 8, 8), (2, 3, 8, 8)], (1, 0, 8, 8), "224x224x3"):
        with pytest.raises(convscope.ConvscopeError, match="input_size"):
            torchinfo_shapes(bad)


def test_an_executed_notebook_shows_the_table(tmp_path, monkeypatch):
    """nbclient runs a two-cell notebook in a real IPython kernel; the outputs are the
    reprs above, as a notebook front end receives them. Jupyter's and IPython's own files
    (connection files, profile, history) go to the test's folder, not the home folder."""
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR",
                 "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
                    "import convscope\nconvscope.summary('lenet5', print_fn=None)"),
                nbformat.v4.new_code_cell("convscope.draw('lenet5')")]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    table = nb.cells[0].outputs[0]["data"]
    assert "text/html" in table and "Total params: 61,706" in table["text/html"]
    assert "text/markdown" in table
    drawing = nb.cells[1].outputs[0]["data"]
    assert "image/svg+xml" in drawing and "image/png" in drawing
    nbformat.write(nb, tmp_path / "executed.ipynb")  # kept with the test's files
