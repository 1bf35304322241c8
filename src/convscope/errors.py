"""convscope's error types.

Every error a user can cause is a :class:`ConvscopeError`. It carries *where* and *what*
as fields, and composes its text only in ``__str__``, in the Keras form "where, what is
wrong, expected, received"::

    net.yaml: layers[2] 'conv2' (conv): kernel 5 on axis W is larger than the padded
    input 4 (input 4, padding 0+0)

is ``source='net.yaml'``, ``path=('layers', 2)``, ``layer='conv2'``, ``kind='conv'`` and
the ``message``. A path is a tuple of steps (:data:`Step`) rendered by :func:`path_str`;
the web page walks it to find the offending line (``description/locate.py``). Errors are
immutable: :meth:`ConvscopeError.replace` and :meth:`~ConvscopeError.with_source` return
copies.

The CLI prints ``convscope: <error>`` on stderr and exits with status 2; it never shows a
traceback for a ConvscopeError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .limits import echo


# ------------------------------------------------------------------ paths ---
@dataclass(frozen=True)
class InBlock:
    """A step into the body of the block ``name``, expanded as ``instance`` (empty when
    the error is about the block's template as a whole)."""

    name: str
    instance: str = ""

    def __str__(self) -> str:
        named = f" as '{echo(self.instance)}'" if self.instance else ""
        return f"(block '{echo(self.name)}'{named})"


@dataclass(frozen=True)
class Repeat:
    """Copy ``index`` (1-based) of an item repeated ``count`` times; ``index`` 0 is the
    repeated item as a whole."""

    count: int
    index: int = 0

    def __str__(self) -> str:
        if self.index:
            return f"(repeat {self.index}/{self.count})"
        return f"(repeat {echo(self.count)})"


@dataclass(frozen=True)
class Named:
    """An entry the description names: ``input 'image'`` (under ``inputs``) or
    ``block 'basic'`` (under ``blocks``)."""

    what: str
    name: str

    def __str__(self) -> str:
        return f"{self.what} '{echo(self.name)}'"


#: one step of a path: a mapping key (``'layers'``, ``'branches'``), a list index, or one
#: of the marks above
Step = str | int | InBlock | Repeat | Named
Location = tuple[Step, ...]


def path_str(path: Location | None) -> str:
    """``('layers', 0, Repeat(4, 2), InBlock('stage', 's.1'), 'layers', 1)`` ->
    ``layers[0] (repeat 2/4) (block 'stage' as 's.1') > layers[1]``."""
    out = ""
    previous: Step | None = None
    for step in path or ():
        if isinstance(step, int):
            out += f"[{step}]"
        elif isinstance(step, (InBlock, Repeat)):
            out += f" {step}"
        elif isinstance(previous, InBlock):
            out += f" > {step}"
        elif out:
            out += f".{step}"
        else:
            out = str(step)
        previous = step
    return out


# ----------------------------------------------------------------- errors ---
FIELDS = ("message", "source", "path", "layer", "kind", "rule", "expected", "received",
          "line", "column")


class ConvscopeError(Exception):
    """Base class of every error caused by the user's input. Immutable.

    Fields: ``message`` (what is wrong), ``source`` (a file name, 'zoo:vgg16',
    'one-line'), ``path`` (where in the description, a tuple of :data:`Step`), ``layer``
    and ``kind`` (the node's name and kind), ``rule`` / ``expected`` / ``received`` (the
    rule broken, when a check knows them), ``line`` / ``column`` (1-based, syntax errors).
    """

    message: str
    source: str | None
    path: Location | None
    layer: str | None
    kind: str | None
    rule: str | None
    expected: str | None
    received: str | None
    line: int | None
    column: int | None

    def __init__(self, message: str = "", source: str | None = None, *,
                 path: Location | str | None = None, layer: str | None = None,
                 kind: str | None = None, rule: str | None = None,
                 expected: str | None = None, received: str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        if isinstance(path, str):  # a location known only as text: kept as one step
            path = (path,)
        values = (message, source, tuple(path) if path else None, layer, kind, rule,
                  expected, received, line, column)
        for name, value in zip(FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("__"):  # __traceback__, __cause__, __context__, __notes__ ...
            super().__setattr__(name, value)
            return
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        if name.startswith("__"):
            super().__delattr__(name)
            return
        raise AttributeError(f"{type(self).__name__} is immutable")

    def fields(self) -> dict[str, Any]:
        """The fields as keyword arguments of the constructor."""
        return {name: getattr(self, name) for name in FIELDS}

    def replace(self, **changes: Any) -> ConvscopeError:
        """A copy of this error (same type) with ``changes`` to its fields."""
        return type(self)(**{**self.fields(), **changes})

    def with_source(self, source: str) -> ConvscopeError:
        """A copy attributed to ``source`` (a file name or 'one-line'), unless the error
        already names its source."""
        return self.replace(source=self.source if self.source is not None else source)

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.fields()))

    def where(self) -> str:
        """``layers[2] 'conv2' (conv)``: the location part of the text ('' when unknown)."""
        parts = [path_str(self.path)]
        if self.layer:
            parts.append(f"'{echo(self.layer)}'")
        if self.kind:
            parts.append(f"({self.kind})")
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        source = self.source or ""
        if self.line is not None:
            column = f":{self.column}" if self.column is not None else ""
            source = f"{source}:{self.line}{column}" if source else f"line {self.line}{column}"
        prefix = ": ".join(p for p in (source, self.where()) if p)
        return f"{prefix}: {self.message}" if prefix else self.message


def _rebuild(cls: type[ConvscopeError], fields: dict[str, Any]) -> ConvscopeError:
    return cls(**fields)


class SpecError(ConvscopeError):
    """The description itself is malformed: syntax, unknown kinds, bad arguments."""


class ShapeError(ConvscopeError):
    """The description is well formed but the shapes do not work out."""


class LayerRuleError(ValueError):
    """Raised by a layer's rules, without location; the graph adds where it happened.

    ``rule`` (e.g. the argument's name), ``expected`` and ``received`` are filled by the
    checks that know them (:class:`convscope.description.args.Args`)."""

    def __init__(self, message: str, *, rule: str | None = None, expected: str | None = None,
                 received: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.expected = expected
        self.received = received

    def details(self) -> dict[str, Any]:
        """The fields a :class:`ConvscopeError` built from this one takes over."""
        return {"rule": self.rule, "expected": self.expected, "received": self.received}


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' Did you mean 'x'?' for the closest of ``choices`` to ``word``, or ''.

    difflib's matching costs about len(word) * len(choice) per choice: only words and
    choices of at most 64 characters are compared (a typo is short), so a 30,000-character
    name costs nothing."""
    import difflib

    if not isinstance(word, str) or len(word) > 64:
        return ""
    short = [c for c in choices if isinstance(c, str) and len(c) <= 64]
    match = difflib.get_close_matches(word, short, n=1, cutoff=0.6)
    return f" Did you mean '{match[0]}'?" if match else ""
