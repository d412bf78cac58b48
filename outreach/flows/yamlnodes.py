"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loader forgets positions once it has built Python objects, but a coordinator needs
``file:line:column`` for every problem. So this composes the node tree with the safe loader and
builds the objects itself, recording a position for each path, reporting duplicate keys (which
PyYAML silently lets the last one win) and keeping YAML 1.1's ``yes``/``no``/``on``/``off`` as the
words they are (PyYAML would turn a choice called ``yes`` into ``True``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from outreach.errors import UnsafeYAML

Path = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_ALLOWED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
_MAX_NODES = 50_000  # an alias bomb in a small file must not expand without end
# Deeper than any flow needs, shallow enough that PyYAML's recursive composer and ours are safe.
MAX_DEPTH = 64
# Longer than any count or duration a flow needs; Python refuses ints over 4,300 digits anyway.
MAX_NUMBER_LENGTH = 32
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(slots=True)
class Document:
    """Plain data from one YAML file, with the position of every key and value."""

    data: Any
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    duplicates: list[tuple[Path, Mark]] = field(default_factory=list)

    def where(self, path: Path, *, key: bool = False) -> Mark:
        """The position of ``path``, or of its nearest ancestor that exists."""
        table = self.keys if key else self.values
        for prefix in _prefixes(path):
            if prefix in table:
                return table[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return Mark(1, 1)


def _prefixes(path: Path) -> Iterator[Path]:
    for end in range(len(path), -1, -1):
        yield path[:end]


def load(text: str) -> Document:
    """Parse ``text`` safely into a ``Document``; raises ``yaml.YAMLError`` on bad syntax and
    ``UnsafeYAML`` on what flow files may not use (foreign tags, alias bombs, nesting or
    numbers beyond any flow's need)."""
    _check_depth(text)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    doc = Document(data=None)
    if root is None:
        return doc
    constructor = yaml.constructor.SafeConstructor()
    budget = [_MAX_NODES]
    doc.data = _build(root, (), doc, constructor, budget)
    return doc


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _build(
    node: yaml.Node,
    path: Path,
    doc: Document,
    constructor: yaml.constructor.SafeConstructor,
    budget: list[int],
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise _refused("the file expands to too many values (aliases?)", node)
    if node.tag not in _ALLOWED_TAGS:
        raise _refused(f"the tag {node.tag} is not allowed in flow files", node)
    doc.values.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            child = (*path, key)
            if key in out:
                doc.duplicates.append((child, _mark(key_node)))
                continue
            doc.keys[child] = _mark(key_node)
            out[key] = _build(value_node, child, doc, constructor, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, i), doc, constructor, budget) for i, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == _BOOL_TAG and node.value.lower() not in ("true", "false"):
        return node.value
    if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_LENGTH:
        raise _refused(f"this number is too long ({len(node.value)} characters)", node)
    try:
        return constructor.construct_object(node)
    except (ValueError, OverflowError):  # a date like 2026-13-45
        raise _refused(
            f"{node.value[:40]!r} is not a valid {node.tag.rsplit(':', 1)[-1]}", node
        ) from None


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` before anything recursive sees it (PyYAML's
    event parser is iterative; its composer is not)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                raise UnsafeYAML(
                    f"the file is nested more than {MAX_DEPTH} levels deep", line, column
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _refused(message: str, node: yaml.Node) -> UnsafeYAML:
    mark = _mark(node)
    return UnsafeYAML(message, mark.line, mark.column)
