"""convscope's error types.

Every error a user can cause is a :class:`ConvscopeError`. Its message follows
the Keras form "what is wrong, where, expected, received" and names the layer
by its position in the description and its name, e.g.::

    layers[2] 'conv2' (conv): kernel 5 on axis W is larger than the padded input 4
    (input 4, padding 0+0)

The CLI prints ``convscope: <source>: <message>`` on stderr and exits with
status 2; it never shows a traceback for a ConvscopeError.
"""

from __future__ import annotations


class ConvscopeError(Exception):
    """Base class of every error caused by the user's input."""

    def __init__(self, message: str, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def with_source(self, source: str) -> ConvscopeError:
        """Return the same error, attributed to ``source`` (a file name or 'one-line')."""
        if self.source is None:
            self.source = source
        return self

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


class SpecError(ConvscopeError):
    """The description itself is malformed: syntax, unknown kinds, bad arguments."""


class ShapeError(ConvscopeError):
    """The description is well formed but the shapes do not work out."""


class LayerRuleError(ValueError):
    """Raised by a layer's rules, without location; the graph adds where it happened."""


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' Did you mean 'x'?' for the closest of ``choices`` to ``word``, or ''."""
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{match[0]}'?" if match else ""
