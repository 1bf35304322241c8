"""The topology pass (analysis/topology.py): cut points, branch blocks and folds, as
frozen values the diagrams only read."""

from __future__ import annotations

import dataclasses

import pytest

import convscope
from convscope.analysis.topology import Block, Box, cut_points, topology


def _report(model: str):
    return convscope.analyze(convscope.load(model))


def test_resnet50_stages_fold_into_their_repeated_bottlenecks():
    # torchvision's ResNet-50: stages of 3, 4, 6, 3 bottlenecks; the first of each stage has
    # a projection shortcut, the others are identical copies drawn once with "x N".
    blocks = [i for i in topology(_report("resnet50")).items if isinstance(i, Block)]
    assert [b.repeat for b in blocks] == [1, 2, 1, 3, 1, 5, 1, 2]
    assert [len(b.branches) for b in blocks] == [2] * 8
    assert [b.label for b in blocks[::2]] == ["layer1.0", "layer2.0", "layer3.0", "layer4.0"]
    # a folded block names the merge layers of all its copies
    assert blocks[5].names[0].startswith("layer3.1") and len(blocks[5].names) == 5 * 2


def test_googlenet_has_nine_inception_modules_of_four_branches():
    blocks = [i for i in topology(_report("googlenet")).items if isinstance(i, Block)]
    four = [b for b in blocks if len(b.branches) == 4]
    assert sum(b.repeat for b in four) == 9


def test_a_chain_is_one_box_per_layer_with_elementwise_layers_merged():
    top = topology(_report("lenet5"))
    assert all(isinstance(i, Box) for i in top.items)
    assert top.cut_points == tuple(range(len(_report("lenet5").layers)))
    drawn = [s.name for item in top.items for s in item.layers]
    assert drawn == [s.name for s in _report("lenet5").layers]  # every layer once, in order


def test_every_layer_is_drawn_exactly_once_or_folded():
    for model in ("resnet18", "googlenet", "mobilenet_v2", "vgg16_bn", "cnn_lstm"):
        report = _report(model)
        top = topology(report)
        seen: list[str] = []
        for item in top.items:
            if isinstance(item, Box):
                seen += [s.name for s in item.layers]
            else:
                inside = [s.name for br in item.branches for b in br for s in b.layers]
                seen += inside + [s.name for s in item.merge.layers]
        assert len(seen) == len(set(seen)), model
        assert set(seen) <= {s.name for s in report.layers}, model


def test_cut_points_of_a_residual_block():
    report = convscope.analyze(convscope.load(
        "8x8x4 | conv3-4 p=1 | relu"))  # a chain: every layer is a cut point
    assert cut_points(report) == tuple(range(len(report.layers)))
    block = convscope.analyze(convscope.load("resnet18"))
    cuts = cut_points(block)
    names = [block.layers[i].name for i in cuts]
    assert "layer1.0.conv1" not in names  # inside a block: the shortcut jumps over it


def test_the_values_are_frozen():
    top = topology(_report("resnet18"))
    block = next(i for i in top.items if isinstance(i, Block))
    with pytest.raises(dataclasses.FrozenInstanceError):
        block.repeat = 3  # type: ignore[misc]
    assert isinstance(top.items, tuple) and isinstance(block.branches, tuple)
