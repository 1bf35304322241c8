"""Where in a YAML text an error is: the line of ``layers[i]``, of a block, of a key.

Used by the web page to show an error next to the offending line. Needs only PyYAML's
composer (node marks); never evaluates anything.
"""

from __future__ import annotations

import re

import yaml


def _mapping_item(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def locate(text: str, message: str) -> int | None:
    """The 1-based line an error message is about, when it can be told."""
    syntax = re.match(r"[^:]*:(\d+):(\d+): ", message)
    if syntax:
        return int(syntax.group(1))
    from .reader import SafeDescriptionLoader, plain_yaml

    try:  # libyaml composes recursively: only text whose nesting is known to be bounded
        fast = plain_yaml(text)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else \
            SafeDescriptionLoader
        root = yaml.compose(text, Loader=loader)
    except (yaml.YAMLError, RecursionError, MemoryError, ValueError):
        return None
    if root is None:
        return None
    found = re.search(r"\blayers\[(\d+)\]", message)
    layers = _mapping_item(root, "layers")
    if found and isinstance(layers, yaml.SequenceNode):
        index = int(found.group(1))
        if index < len(layers.value):
            return layers.value[index].start_mark.line + 1
    block = re.search(r"block '([^']+)'", message)
    blocks = _mapping_item(root, "blocks")
    if block and blocks is not None:
        node = _mapping_item(blocks, block.group(1))
        if node is not None:
            return node.start_mark.line + 1
    for key in ("input", "inputs", "outputs", "defaults", "blocks", "layers"):
        if key in message:
            node = _mapping_item(root, key)
            if node is not None:
                return node.start_mark.line + 1
    return None
