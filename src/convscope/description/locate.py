"""Where in a YAML text an error is: the line its ``path`` leads to.

Used by the web page to show an error next to the offending line. Reads only the
error's fields (``line`` for syntax errors, else ``path``), never its text: the path is
walked through the YAML nodes (``layers[i]``, structures' ``branches`` / ``body`` /
``shortcut`` lists, a block's definition under ``blocks``, a named input), and the
deepest node reached gives the line. Needs only PyYAML's composer (node marks); never
evaluates anything.
"""

from __future__ import annotations

import yaml

from ..errors import InBlock, Location, Named, Repeat


def _mapping_item(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _key(node: yaml.Node, key: str) -> yaml.Node | None:
    """``node[key]``; also through the short form of an item, ``{residual: {body: ...}}``."""
    found = _mapping_item(node, key)
    if found is None and isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        found = _mapping_item(node.value[0][1], key)
    return found


def _named(root: yaml.Node, step: Named) -> yaml.Node | None:
    if step.what == "block":
        return _mapping_item(_mapping_item(root, "blocks"), step.name)
    return _mapping_item(_mapping_item(root, "inputs"), step.name) or \
        _mapping_item(root, "input")


def walk(root: yaml.Node, path: Location) -> yaml.Node | None:
    """The deepest node of ``root`` that ``path`` leads to (None when not even its first
    step is found). A block's steps lead into its definition under ``blocks``."""
    node: yaml.Node | None = root
    found = None
    for step in path:
        if isinstance(step, Repeat):
            continue  # every copy of a repeated item is the same text
        if isinstance(step, InBlock):
            node = _mapping_item(_mapping_item(root, "blocks"), step.name)
        elif isinstance(step, Named):
            node = _named(root, step)
        elif isinstance(step, int):
            items = node.value if isinstance(node, yaml.SequenceNode) else []
            node = items[step] if 0 <= step < len(items) else None
        else:
            node = _key(node, step) if node is not None else None
        if node is None:
            break
        found = node
    return found


def compose(text: str) -> yaml.Node | None:
    """The YAML node tree of ``text``, or None when it cannot be read."""
    from .reader import SafeDescriptionLoader, scan_yaml

    try:  # libyaml composes recursively: only text whose nesting is known to be bounded
        fast = scan_yaml(text)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else \
            SafeDescriptionLoader
        return yaml.compose(text, Loader=loader)
    except (yaml.YAMLError, RecursionError, MemoryError, ValueError):
        return None


def locate(text: str, error: BaseException) -> int | None:
    """The 1-based line of ``text`` an error is about, when it can be told."""
    line = getattr(error, "line", None)
    if isinstance(line, int):
        return line
    path = getattr(error, "path", None)
    if not path:
        return None
    root = compose(text)
    node = walk(root, path) if root is not None else None
    return node.start_mark.line + 1 if node is not None else None
