"""Hostile Keras configs and ONNX files: every malformed input ends in one ConvscopeError.

Two parts. Named cases: each malformed input the hardening issue lists, with the key words
its message must hold. Fuzzing with fixed seeds: real configs (small Sequential and
functional models, nested and shared ones, recurrent layers, a Keras Application, all
built here with ``weights=None``) mutated 1,200 times, and small real ONNX files (built
with onnx.helper and exported by convscope's own exporter) corrupted 300 times, byte by
byte and node by node. Nothing may raise anything but a ConvscopeError, and the Keras
importer's last-resort guard (``UnexpectedConfig``, any other exception turned into a
message) must stay rare. ``benchmarks/fuzz_keras_onnx.py`` runs larger counts with the
same engine.
"""

from __future__ import annotations

import json
import random
import traceback
import zipfile
from collections import Counter
from typing import Any

import pytest

from convscope.errors import ConvscopeError

KERAS_MUTATIONS = 1_200
ONNX_CORRUPTIONS = 300
WEIRD = [None, 0, -1, -7, 1.5, 2**31, 2**40, 10**30, -(10**12), float("nan"), float("inf"),
         True, "", "abc", "same", [], {}, [5], [None], [1, 2, 3], {"a": 1}, [[[[[1]]]]],
         {"class_name": "Dense", "config": {}}, "__keras_tensor__", ["x", 0, 0]]


# ---------------------------------------------------------------- Keras sources ---
def keras_sources() -> list[dict[str, Any]]:
    """Real model configs, each as ``json.loads(model.to_json())``."""
    import keras
    from keras import layers as L

    keras.backend.clear_session()
    models = []
    models.append(keras.Sequential([
        keras.Input((32, 32, 3)), L.Conv2D(8, 3, padding="same", activation="relu"),
        L.BatchNormalization(), L.MaxPooling2D(2), L.ZeroPadding2D(1),
        L.DepthwiseConv2D(3), L.SeparableConv2D(8, 3), L.UpSampling2D(2), L.Dropout(0.1),
        L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")], name="seq"))
    x = keras.Input((16, 16, 3), name="img")
    a = L.Conv2D(4, 3, padding="same", name="a")(x)
    b = L.Conv2D(4, 1, name="b")(x)
    shared = L.Conv2D(4, 3, padding="same", name="shared")
    m = L.Add(name="add")([shared(a), shared(b)])
    m = L.Concatenate(name="cat")([m, a])
    m = L.Reshape((16 * 16, 8), name="reshape")(m)
    m = L.Permute((2, 1), name="permute")(m)
    out = L.Flatten(name="flat")(m)
    models.append(keras.Model(x, L.Dense(3, name="head")(out), name="functional"))
    inner = keras.Sequential([keras.Input((8,)), L.Dense(4, name="d1"),
                              L.LayerNormalization(name="ln")], name="inner")
    p, q = keras.Input((8,), name="p"), keras.Input((8,), name="q")
    models.append(keras.Model([p, q], L.Subtract(name="sub")([inner(p), inner(q)]),
                              name="siamese"))
    t = keras.Input((10,), dtype="int32", name="tokens")
    e = L.Embedding(100, 8, name="emb")(t)
    e = L.Bidirectional(L.LSTM(6, return_sequences=True), name="bi")(e)
    e = L.GRU(5, name="gru")(e)
    models.append(keras.Model(t, L.Dense(2, name="out")(e), name="recurrent"))
    models.append(keras.applications.MobileNet(weights=None, input_shape=(64, 64, 3),
                                               alpha=0.25, include_top=False))
    return [json.loads(model.to_json()) for model in models]


def paths(value: Any, limit: int = 40) -> list[tuple]:
    """Every place in a JSON tree (down to ``limit`` levels), as tuples of keys."""
    out: list[tuple] = []
    stack: list[tuple[tuple, Any]] = [((), value)]
    while stack:
        prefix, item = stack.pop()
        out.append(prefix)
        if len(prefix) >= limit:
            continue
        if isinstance(item, dict):
            stack += [((*prefix, k), v) for k, v in item.items()]
        elif isinstance(item, list):
            stack += [((*prefix, k), v) for k, v in enumerate(item)]
    return out


def copy(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (RecursionError, ValueError):
        return value  # a deep nest: shared, never changed again


def at(tree: Any, path: tuple) -> tuple[Any, Any] | None:
    """(container, key) of ``path`` in ``tree``, or None when the path no longer exists."""
    node = tree
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    if not path or not isinstance(node, (dict, list)):
        return None
    if isinstance(node, dict) and path[-1] not in node:
        return None
    if isinstance(node, list) and not (isinstance(path[-1], int) and path[-1] < len(node)):
        return None
    return node, path[-1]


def strings(tree: Any) -> list[str]:
    return [v for p in paths(tree) if isinstance(v := get(tree, p), str)]


def get(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def nest(rng: random.Random, tree: Any) -> Any:
    """A model inside a model inside ..., or a list inside a list inside ..."""
    if rng.random() < 0.5:
        value: Any = 1
        for _ in range(rng.choice([50, 500, 5000])):
            value = [value]
        return value
    layer = {"class_name": "Sequential", "config": {"name": "n", "layers": []}}
    inner = layer
    for _ in range(rng.choice([3, 150, 2000])):
        child = {"class_name": "Sequential", "config": {"name": "n", "layers": []}}
        inner["config"]["layers"].append(child)
        inner = child
    return layer


def mutate(rng: random.Random, tree: Any, places: list[tuple]) -> Any:  # noqa: C901
    """One to three random changes to a JSON tree (in place); returns the tree."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        path = rng.choice(places)
        found = at(tree, path)
        if found is None:
            continue
        node, key = found
        op = rng.randrange(9)
        if op == 0:  # delete
            del node[key]
        elif op == 1:  # another type
            node[key] = rng.choice(WEIRD)
        elif op == 2:  # another value of the tree
            other = at(tree, rng.choice(places))
            if other is not None:
                node[key] = copy(other[0][other[1]])
        elif op == 3:  # dangling / renamed reference
            node[key] = rng.choice(strings(tree) or ["x"]) + rng.choice(["", "_x", ""])
        elif op == 4 and isinstance(node, list):  # duplicate an element
            node.insert(key, copy(node[key]))
        elif op == 5:  # wrap
            node[key] = [node[key]] if rng.random() < 0.5 else {"config": node[key]}
        elif op == 6 and isinstance(node[key], (int, float)) and not isinstance(node[key], bool):
            node[key] = rng.choice([-node[key], node[key] * 10**12, 0, 2**31, float("nan")])
        elif op == 7 and rng.random() < 0.1:
            node[key] = nest(rng, tree)
        elif op == 8 and isinstance(node[key], list) and node[key]:  # truncate
            node[key] = node[key][:rng.randrange(len(node[key]))]
    return tree


def where(err: BaseException) -> str:
    """file:line of the innermost convscope frame that raised ``err``."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "convscope" in f.filename]
    frame = frames[-1] if frames else traceback.extract_tb(err.__traceback__)[-1]
    return f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {type(err).__name__}"


def fuzz_keras(sources: list[dict[str, Any]], count: int, seed: int = 12) -> dict[str, Any]:
    """Mutate the sources ``count`` times and import each; returns the tallies."""
    import sys

    from convscope.keras import import_config
    from convscope.layers.fields import UnexpectedConfig

    rng = random.Random(seed)
    texts = [json.dumps(s) for s in sources]
    places = [paths(s) for s in sources]
    tally = new_tally()
    limit = sys.getrecursionlimit()
    for _ in range(count):
        k = rng.randrange(len(texts))
        config = mutate(rng, json.loads(texts[k]), places[k])
        try:
            count_outcome(tally, lambda c=config: import_config(c), UnexpectedConfig)
        finally:
            sys.setrecursionlimit(limit)
    return tally


def new_tally() -> dict[str, Any]:
    return {"inputs": 0, "clean": 0, "convscope": 0, "last_resort": 0, "foreign": 0,
            "places": Counter(), "guarded": Counter()}


def count_outcome(tally: dict[str, Any], attempt: Any, last_resort: type) -> None:
    """Run one fuzzed input and count how it ended: clean, convscope's error (and whether
    only the importer's last-resort guard caught it), or a foreign exception and where."""
    tally["inputs"] += 1
    try:
        attempt()
        tally["clean"] += 1
    except last_resort as err:
        tally["last_resort"] += 1
        tally["convscope"] += 1
        tally["guarded"][str(err)[:100]] += 1
    except ConvscopeError:
        tally["convscope"] += 1
    except Exception as err:  # noqa: BLE001 - what the fuzzer is looking for
        tally["foreign"] += 1
        tally["places"][where(err)] += 1


# ----------------------------------------------------------------- ONNX sources ---
def onnx_sources(folder: Any) -> list[bytes]:
    """Small real ONNX models: hand-built CNN and shape arithmetic, and the exporter's
    LeNet-5 and a recurrent zoo model."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    import convscope
    from convscope.onnx.export import to_onnx

    def init(name: str, *shape: int) -> Any:
        return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)

    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("BatchNormalization", ["c", "s", "o", "m", "v"], ["n"],
                              name="bn"),
             helper.make_node("Relu", ["n"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2],
                              name="pool"),
             helper.make_node("Shape", ["p"], ["sh"], name="shape"),
             helper.make_node("Gather", ["sh", "zero"], ["n0"], axis=0, name="g"),
             helper.make_node("Unsqueeze", ["n0", "zero1"], ["n1"], name="u"),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0, name="cc"),
             helper.make_node("Reshape", ["p", "target"], ["f"], name="reshape"),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1, name="fc")]
    consts = [init("w", 4, 3, 3, 3), init("b", 4), init("s", 4), init("o", 4), init("m", 4),
              init("v", 4), init("fw", 10, 64), init("fb", 10),
              numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
              numpy_helper.from_array(np.array([0], dtype=np.int64), "zero1"),
              numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1")]
    graph = helper.make_graph(
        nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], consts)
    out = [helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
           .SerializeToString()]
    for name in ("lenet5", "cifar_resnet20", "cnn_lstm", "text_cnn"):
        path = folder / f"{name}.onnx"
        to_onnx(convscope.load(name), str(path))
        out.append(path.read_bytes())
    return out


def corrupt_bytes(rng: random.Random, data: bytes) -> bytes:
    op = rng.randrange(4)
    if op == 0:  # truncated
        return data[:rng.randrange(len(data))]
    buf = bytearray(data)
    if op == 1:  # flipped bytes, mostly in the graph (the weights come last)
        for _ in range(rng.choice([1, 2, 5, 20])):
            buf[rng.randrange(min(len(buf), 4000))] ^= 1 << rng.randrange(8)
        return bytes(buf)
    if op == 2:  # random bytes inserted
        k = rng.randrange(min(len(buf), 4000))
        return bytes(buf[:k] + rng.randbytes(rng.randrange(1, 16)) + buf[k:])
    return rng.randbytes(rng.randrange(0, 200))


def corrupt_proto(rng: random.Random, data: bytes) -> Any:  # noqa: C901, PLR0912
    """A model that parses but is wrong: dangling inputs, missing or absurd shapes,
    attributes of the wrong type, cycles, nodes out of order, an empty graph."""
    import onnx
    from onnx import helper

    model = onnx.ModelProto.FromString(data)
    g = model.graph
    nodes = list(g.node)
    for _ in range(rng.choice([1, 1, 2, 3])):
        op = rng.randrange(11)
        node = rng.choice(nodes) if nodes else None
        if op == 0 and node is not None and node.input:  # dangling input
            node.input[rng.randrange(len(node.input))] = rng.choice(["nowhere", "", "x"])
        elif op == 1:  # shapes gone
            for v in [*g.input, *g.output, *g.value_info]:
                if rng.random() < 0.5:
                    v.type.tensor_type.ClearField("shape")
        elif op == 2:  # absurd dims
            for v in [*g.input, *g.output]:
                for d in v.type.tensor_type.shape.dim:
                    if rng.random() < 0.5:
                        d.dim_value = rng.choice([-3, 0, 2**31, 2**62, 10**15])
        elif op == 3 and node is not None and node.attribute:  # attribute of another type
            attr = rng.choice(node.attribute)
            value = rng.choice([1.5, "text", [1.0, 2.0], -5, [10**12] * 2, b"\xff", []])
            new = helper.make_attribute(attr.name, value) if value != [] else \
                onnx.AttributeProto(name=attr.name, type=onnx.AttributeProto.INTS)
            attr.CopyFrom(new)
        elif op == 4 and node is not None:  # a cycle: a node reads its own output
            node.input.append(node.output[0])
        elif op == 5 and len(nodes) > 1:  # out of order
            rng.shuffle(nodes)
            del g.node[:]
            g.node.extend(nodes)
        elif op == 6:  # empty graph
            del g.node[:]
            nodes = []
        elif op == 7 and g.initializer:  # a weight gone or given absurd dims
            t = rng.choice(g.initializer)
            if rng.random() < 0.5:
                g.initializer.remove(t)
            else:
                t.dims[:] = [rng.choice([-1, 0, 10**12, 3])] * len(t.dims)
        elif op == 8 and node is not None:  # another operator
            node.op_type = rng.choice(["Conv", "Relu", "Gemm", "Concat", "Reshape", "Tile",
                                       "ConstantOfShape", "Expand", "Loop", "Nope", "Split"])
        elif op == 9 and node is not None and node.output:  # output name taken twice
            node.output[0] = rng.choice([n.output[0] for n in nodes if n.output] or ["y"])
        elif op == 10:  # inputs / outputs gone
            target = g.input if rng.random() < 0.5 else g.output
            if len(target):
                del target[rng.randrange(len(target))]
    return model


def fuzz_onnx(sources: list[bytes], count: int, seed: int = 12) -> dict[str, Any]:
    from convscope.onnx.common import UnexpectedModel
    from convscope.onnx.importer import import_onnx

    rng = random.Random(seed)
    tally = new_tally()
    for _ in range(count):
        data = rng.choice(sources)

        def attempt(data: bytes = data) -> None:
            model = corrupt_bytes(rng, data) if rng.random() < 0.4 else \
                corrupt_proto(rng, data)
            import_onnx(model)

        count_outcome(tally, attempt, UnexpectedModel)
    return tally


def report(name: str, tally: dict[str, Any]) -> str:
    lines = [f"{name}: {tally['inputs']} inputs, {tally['clean']} clean, "
             f"{tally['convscope']} ConvscopeError "
             f"({tally.get('last_resort', 0)} by the last-resort guard), "
             f"{tally['foreign']} foreign exceptions"]
    lines += [f"  {n} x {place}" for place, n in tally["places"].most_common()]
    lines += [f"  guard {n} x {text}" for text, n in tally.get("guarded", Counter()).items()]
    return "\n".join(lines)


# ------------------------------------------------------------------- fuzz tests ---
@pytest.fixture(scope="module")
def keras_configs():
    return keras_sources()


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    return onnx_sources(tmp_path_factory.mktemp("onnx"))


def test_fuzzed_keras_configs_give_only_convscope_errors(keras_configs):
    tally = fuzz_keras(keras_configs, KERAS_MUTATIONS)
    print(report("keras", tally))
    assert tally["foreign"] == 0, report("keras", tally)
    assert tally["last_resort"] <= KERAS_MUTATIONS // 100, report("keras", tally)
    assert tally["clean"] > 0 and tally["convscope"] > KERAS_MUTATIONS // 4


def test_corrupted_onnx_files_give_only_convscope_errors(onnx_files):
    tally = fuzz_onnx(onnx_files, ONNX_CORRUPTIONS)
    print(report("onnx", tally))
    assert tally["foreign"] == 0, report("onnx", tally)
    assert tally["last_resort"] <= ONNX_CORRUPTIONS // 100, report("onnx", tally)
    assert tally["convscope"] > ONNX_CORRUPTIONS // 4


def test_the_unmutated_sources_import_cleanly(keras_configs, onnx_files):
    from convscope.keras import import_config
    from convscope.onnx.importer import import_onnx

    for config in keras_configs:
        import_config(config)
    for data in onnx_files:
        import_onnx(data)


# ------------------------------------------------------------- named Keras cases ---
def small_functional() -> dict[str, Any]:
    tensor = {"class_name": "__keras_tensor__",
              "config": {"shape": [None, 4], "keras_history": ["i", 0, 0]}}
    return {"class_name": "Functional", "config": {"name": "f", "layers": [
        {"class_name": "InputLayer", "name": "i", "inbound_nodes": [],
         "config": {"batch_shape": [None, 4], "name": "i"}},
        {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 3},
         "inbound_nodes": [{"args": [tensor], "kwargs": {}}]}],
        "input_layers": [["i", 0, 0]], "output_layers": [["d", 0, 0]]}}


def set_at(config: dict[str, Any], path: tuple, value: Any) -> dict[str, Any]:
    node = config
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return config


LAYERS = ("config", "layers")
DENSE = (*LAYERS, 1)
HISTORY = (*DENSE, "inbound_nodes", 0, "args", 0, "config", "keras_history")


def deep_models(depth: int) -> dict[str, Any]:
    model = {"class_name": "Sequential", "config": {"name": "n", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "x"}}]}}
    inner = model
    for _ in range(depth):
        child = {"class_name": "Sequential", "config": {"name": "n", "layers": []}}
        inner["config"]["layers"].append(child)
        inner = child
    return model


KERAS_CASES = {
    "layers holds a number": ((*LAYERS, 0), 5, ["layers[0]", "mapping", "received 5"]),
    "layers is a number": (LAYERS, 5, ["'layers' must be a list", "received 5"]),
    "batch_shape is text": ((*LAYERS, 0, "config", "batch_shape"), "abc",
                            ["layer 'i'", "'batch_shape' must be a shape", "'abc'"]),
    "no class_name": ((*DENSE, "class_name"), KeyError, ["layers[1]", "'class_name' is missing"]),
    "no config": ((*DENSE, "config"), KeyError, ["layers[1]", "'config' is missing"]),
    "inbound node of the wrong shape": ((*DENSE, "inbound_nodes"), [5],
                                        ["layer 'd' (Dense)", "'inbound_nodes'", "received 5"]),
    "keras_history of the wrong shape": (HISTORY, ["i", 0], ["layer 'd' (Dense)",
                                                            "keras_history", "['i', 0]"]),
    "a layer that does not exist": (HISTORY, ["ghost", 0, 0],
                                    ["layer 'd' reads layer 'ghost'", "does not have"]),
    "a cycle": (HISTORY, ["d", 0, 0], ["layer(s) d", "never computed", "cycle"]),
    "an output that does not exist": (("config", "output_layers"), [["d", 5, 0]],
                                      ["output 'd' (call 5", "not computed"]),
    "huge units": ((*DENSE, "config", "units"), 10**30,
                   ["Keras layer 'd' (Dense)", "'units'", "2147483647", "31 digits"]),
    "negative units": ((*DENSE, "config", "units"), -3, ["'units'", "received -3"]),
    "NaN units": ((*DENSE, "config", "units"), float("nan"), ["'units'", "received nan"]),
    "huge shape": ((*LAYERS, 0, "config", "batch_shape"), [None, 2**40, 3],
                   ["'batch_shape'", "2147483647", "1099511627776"]),
    "trainable is text": ((*DENSE, "config", "trainable"), "no",
                          ["'trainable' must be true or false", "'no'"]),
    "two layers of one name": ((*DENSE, "name"), "i", ["two layers are named 'i'"]),
    "input_layers of the wrong shape": (("config", "input_layers"), "i",
                                        ["'input_layers'", "received 'i'"]),
}


@pytest.mark.parametrize("case", list(KERAS_CASES))
def test_malformed_keras_config_named_case(case):
    from convscope.keras import import_config
    from convscope.layers.fields import UnexpectedConfig

    path, value, words = KERAS_CASES[case]
    with pytest.raises(ConvscopeError) as caught:
        import_config(set_at(small_functional(), path, value))
    assert not isinstance(caught.value, UnexpectedConfig)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


@pytest.mark.parametrize("value", [[1], "text", 5, None, {"class_name": "Dense"},
                                   {"class_name": "Sequential", "config": 5}])
def test_keras_config_that_is_not_a_model(value):
    from convscope.keras import import_config

    with pytest.raises(ConvscopeError, match="not a Keras model config"):
        import_config(value)


def test_deeply_nested_keras_models_stop_at_the_depth_limit():
    from convscope.keras import import_config
    from convscope.limits import MAX_DEPTH

    import_config(deep_models(20))  # a few levels are fine
    with pytest.raises(ConvscopeError, match=f"nested more than {MAX_DEPTH} levels"):
        import_config(deep_models(5_000))


def test_deeply_nested_keras_call_arguments():
    from convscope.keras import import_config

    deep: Any = small_functional()["config"]["layers"][1]["inbound_nodes"][0]["args"][0]
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(ConvscopeError, match="nested more than"):
        import_config(set_at(small_functional(), (*DENSE, "inbound_nodes", 0, "args"), deep))


def keras_file(tmp_path, name: str, members: dict[str, bytes] | None = None,
               raw: bytes | None = None) -> str:
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in (members or {}).items():
                archive.writestr(member, data)
    return str(path)


def test_keras_files_that_cannot_be_read(tmp_path):
    from convscope.keras import load_keras_file

    good = json.dumps(small_functional()).encode()
    assert load_keras_file(keras_file(tmp_path, "ok.keras", {"config.json": good})).nodes
    cases = {
        "not a zip": (keras_file(tmp_path, "a.keras", raw=b"hello"), "not a readable .keras"),
        "no config.json": (keras_file(tmp_path, "b.keras", {"model.weights.h5": b"x"}),
                           "no config.json inside"),
        "not UTF-8": (keras_file(tmp_path, "c.keras", {"config.json": b"{\"a\": \"\xff\"}"}),
                      "not UTF-8"),
        "JSON syntax": (keras_file(tmp_path, "d.keras", {"config.json": b"{oops"}),
                        "JSON syntax error"),
        "a list at the top": (keras_file(tmp_path, "e.keras", {"config.json": b"[1, 2]"}),
                              "received a list"),
        "deep JSON": (keras_file(tmp_path, "f.json", raw=b"[" * 100_000 + b"]" * 100_000),
                      "nested too deeply"),
        "truncated zip": (keras_file(tmp_path, "g.keras",
                                     raw=(tmp_path / "ok.keras").read_bytes()[:60]),
                          "not a readable .keras"),
        "a folder": (str(tmp_path), "not a regular file"),
    }
    for case, (path, words) in cases.items():
        with pytest.raises(ConvscopeError) as caught:
            load_keras_file(path)
        assert words in str(caught.value), (case, str(caught.value))


def test_keras_zip_bomb_is_refused_before_reading(tmp_path):
    from convscope.keras import load_keras_file
    from convscope.limits import MAX_TEXT_BYTES

    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w", force_zip64=True) as member:
            chunk = b" " * 2**20
            for _ in range(MAX_TEXT_BYTES // len(chunk) + 2):
                member.write(chunk)
    assert path.stat().st_size < 200_000  # compresses about a thousand times
    with pytest.raises(ConvscopeError, match="declares .* bytes uncompressed"):
        load_keras_file(str(path))


# -------------------------------------------------------------- named ONNX cases ---
def tiny_onnx(nodes: list[Any], inits: list[Any] | None = None,
              shape: list[Any] | None = None) -> Any:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                   shape or [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits or [])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def int64(name: str, values: list[int]) -> Any:
    import numpy as np
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


@pytest.mark.parametrize("op,inputs,extra", [
    ("ConstantOfShape", ["big"], []),
    ("Expand", ["one", "big"], [int64("one", [1])]),
    ("Tile", ["one", "big"], [int64("one", [1])]),
])
def test_constant_folding_is_bounded(op, inputs, extra):
    """A constant of 10**12 values is not computed (it would need terabytes)."""
    import time

    from onnx import helper

    from convscope.onnx.importer import import_onnx

    nodes = [helper.make_node(op, inputs, ["huge"], name="bomb"),
             helper.make_node("Relu", ["x"], ["y"], name="relu")]
    start = time.perf_counter()
    graph = import_onnx(tiny_onnx(nodes, [int64("big", [10**6, 10**6]), *extra]))
    assert time.perf_counter() - start < 10
    assert [n.name for n in graph.nodes] == ["x", "relu"]


def onnx_case(name: str) -> Any:
    from onnx import AttributeProto, helper

    relu = helper.make_node("Relu", ["x"], ["y"], name="relu")
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3])
    w = int64("w", [0] * 4)
    if name == "dangling input":
        return tiny_onnx([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")])
    if name == "empty graph":
        return tiny_onnx([])
    if name == "cycle":
        return tiny_onnx([helper.make_node("Add", ["x", "y"], ["y"], name="add")])
    if name == "missing shapes":
        model = tiny_onnx([relu])
        model.graph.input[0].type.tensor_type.ClearField("shape")
        return model
    if name == "negative dims":
        return tiny_onnx([relu], shape=[1, -3, 8, 8])
    if name == "huge dims":
        return tiny_onnx([relu], shape=[1, 3, 2**40, 8])
    if name == "attribute of the wrong type":
        conv.attribute[0].CopyFrom(helper.make_attribute("kernel_shape", "three"))
        return tiny_onnx([conv], [w])
    if name == "attribute without a type":
        conv.attribute.append(AttributeProto(name="group"))
        return tiny_onnx([conv], [w])
    if name == "too few inputs":
        return tiny_onnx([helper.make_node("Conv", ["x"], ["y"], name="conv")])
    if name == "corrupt initializer":
        w.dims[:] = [10**12]
        return tiny_onnx([conv], [w])
    raise AssertionError(name)


ONNX_CASES = {
    "dangling input": "'add' (Add)", "empty graph": "no nodes", "cycle": "'add' (Add)",
    "missing shapes": "no inferred shape", "negative dims": "no inferred shape",
    "huge dims": "no inferred shape", "attribute of the wrong type": "kernel_shape",
    "attribute without a type": "'conv' (Conv)", "too few inputs": "takes at least 2 inputs",
    "corrupt initializer": "initializer 'w' has impossible dims",
}


@pytest.mark.parametrize("case", list(ONNX_CASES))
def test_malformed_onnx_named_case(case):
    from convscope.onnx.common import UnexpectedModel
    from convscope.onnx.importer import import_onnx

    with pytest.raises(ConvscopeError) as caught:
        import_onnx(onnx_case(case))
    assert not isinstance(caught.value, UnexpectedModel), str(caught.value)
    assert ONNX_CASES[case] in str(caught.value), str(caught.value)


def test_corrupted_onnx_bytes(onnx_files, tmp_path):
    from convscope.onnx import load_onnx_file

    data = onnx_files[0]
    for k, bad in enumerate([data[:len(data) // 2], b"\x00garbage", b"", bytes(range(256))]):
        path = tmp_path / f"bad{k}.onnx"
        path.write_bytes(bad)
        with pytest.raises(ConvscopeError) as caught:
            load_onnx_file(str(path))
        assert str(path) in str(caught.value)
    with pytest.raises(ConvscopeError, match="not a regular file"):
        load_onnx_file(str(tmp_path))
