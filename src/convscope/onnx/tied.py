"""Initializers read by several nodes, or twice by one node, are counted once.

Exporters share one initializer among nodes: tied weights, and torch.onnx's
deduplication of initializers with equal values (an untrained DenseNet's batch norms all
hold ones and zeros, so many read the same tensors, and one batch norm may read one tensor
as both its scale and its variance). The layer that reads an initializer first counts it;
a later read:

* the same operator reading the very same initializers: the layer ``shares`` the first
  (all of its weights are the other's, counted 0);
* some trainable initializers of one earlier layer: ``shares`` it with ``shared_params``
  (their values are subtracted from its trainable ones);
* anything else (an initializer read twice by one node, statistics tied to another
  node's, weights of several layers): ``repeated_params``, values of tensors counted
  before, subtracted from its non-trainable values first.

So the parameters of a file are the values of the distinct initializers its layers read.
Only the operators in ``TIED`` count exactly the values of what they read; a recurrent
operator's layer does not (ONNX stores two bias vectors, Keras's count has one): an
initializer it reads again is counted again, and a note says how many values.
"""

from __future__ import annotations

from typing import Any

# operators whose layer counts exactly the values of the initializers it reads
TIED = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization",
        "InstanceNormalization", "LayerNormalization", "Gather"}


def is_statistic(node: Any, position: int) -> bool:
    """BatchNormalization's inputs 3 and 4 (mean, variance): not trainable."""
    return node.op_type == "BatchNormalization" and position >= 2


def share(reader: Any, node: Any, name: str, params: list[str]) -> dict[str, Any]:
    """The ``shares`` / ``shared_params`` / ``repeated_params`` of the layer ``name`` that
    reads ``params`` (node inputs, initializers or not); registers the initializers it
    counts."""
    uses = [(i, p) for i, p in enumerate(params) if p in reader.initializers]
    signature = (node.op_type, tuple(params))
    reader.signatures[name] = signature
    owners = [reader.owner[p] for _, p in uses if p in reader.owner]
    if uses and node.op_type in TIED and len(owners) == len(uses) and \
            reader.signatures.get(owners[0]) == signature:
        return {"shares": owners[0]}
    seen: set[str] = set()
    again, learned = 0, 0
    earlier: dict[str, int] = {}
    for i, p in uses:
        size = int(reader.constants[p].size)
        if p in seen:
            again += size
            continue
        seen.add(p)
        if p not in reader.owner:
            reader.owner[p] = name
            learned += 0 if is_statistic(node, i) else size
        elif is_statistic(node, i) or node.op_type not in TIED:
            again += size
        else:
            earlier[reader.owner[p]] = earlier.get(reader.owner[p], 0) + size
            learned += size
    reader.learned[name] = learned
    tied: dict[str, Any] = {}
    if len(earlier) == 1:
        (owner, n), = earlier.items()
        if n <= min(learned, reader.learned.get(owner, 0)):
            tied = {"shares": owner, "shared_params": n}
    if not tied:
        again += sum(earlier.values())
    if again and node.op_type in TIED:
        tied["repeated_params"] = again
    elif again:
        reader.notes.append(counted_again(node, again))
    return tied


def counted_again(node: Any, values: int) -> str:
    return (f"ONNX node '{node.name or node.op_type}' ({node.op_type}): {values:,} values of "
            "initializers counted before are counted again: its layer's parameters are not "
            "the values of the tensors it reads")
