"""Read flow files into typed definitions, reporting every problem with file, line and hint."""

from __future__ import annotations

import difflib
import hashlib
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from outreach.errors import FlowLoadError, Problem, UnsafeYAML
from outreach.flows import yamlnodes
from outreach.flows.schema import SCHEMA_VERSION, Flow, Step

FLOW_SUFFIXES = (".yaml", ".yml")
OTHER_KINDS = ("event:", "digest:", "audience:", "partner:", "decision:", "statements:")

M = TypeVar("M", bound=BaseModel)
D = TypeVar("D")

# Each function lifts a flow from version N to N + 1. When the format changes, the old version's
# files keep loading: add the step here and bump SCHEMA_VERSION.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_REQUIRED_HINTS = {
    "version": f"start the file with `version: {SCHEMA_VERSION}`",
    "flow": "name the flow, like `flow: big-conversation-invite`",
    "description": "say in one line what the flow is for: `description: ...`",
    "steps": "list the steps under `steps:`",
    "id": "give the step a short id, like `id: invite`",
    "label": "give the option the words people see, like `label: Yes, I'll come`",
    "next": "say which step comes next",
    "note": "say what the person needs, like `note: wants a call back`",
}


@dataclass(frozen=True, kw_only=True)
class SourceFile:
    """Something loaded from a coordinator's YAML file, which can point into that file."""

    path: str
    document: yamlnodes.Document = field(repr=False, compare=False)
    digest: str = ""
    kind: ClassVar[str] = "flow"  # the top-level field that names it

    @property
    def id(self) -> str:
        raise NotImplementedError

    def problem(
        self,
        path: yamlnodes.Path,
        code: str,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        warning: bool = False,
    ) -> Problem:
        """A problem located at ``path`` inside this file."""
        mark = self.document.where(path, key=key)
        return Problem(
            self.path,
            mark.line,
            mark.column,
            code,
            message,
            hint,
            "warning" if warning else "error",
        )


def duplicate_ids(definitions: Iterable[SourceFile]) -> Iterator[Problem]:
    """Each file that reuses an id an earlier file already has."""
    seen: dict[str, SourceFile] = {}
    for definition in definitions:
        other = seen.setdefault(definition.id, definition)
        if other is not definition:
            kind = definition.kind
            yield definition.problem(
                (kind,),
                f"duplicate-{kind}",
                f"{kind} id {definition.id!r} is also used by {other.path}",
                f"give each {kind} its own id",
            )


@dataclass(frozen=True, kw_only=True)
class FlowDefinition(SourceFile):
    """A loaded, schema-valid flow together with where it came from."""

    flow: Flow

    @property
    def id(self) -> str:
        return self.flow.flow

    @cached_property
    def steps(self) -> dict[str, Step]:
        """Steps by id (the first one wins if ids repeat; validation reports the repeat)."""
        out: dict[str, Step] = {}
        for step in self.flow.steps:
            out.setdefault(step.id, step)
        return out

    @cached_property
    def step_index(self) -> dict[str, int]:
        return {step.id: i for i, step in reversed(list(enumerate(self.flow.steps)))}

    @property
    def first_step(self) -> Step:
        return self.flow.steps[0]

    def step_path(self, step_id: str, *rest: str | int) -> yamlnodes.Path:
        return ("steps", self.step_index.get(step_id, 0), *rest)


def load_text(text: str, *, path: str = "<flow>") -> FlowDefinition:
    """Load one flow from YAML text; raise ``FlowLoadError`` listing every schema problem."""
    flow, doc, digest = parse_document(text, path, Flow, kind="flow")
    return FlowDefinition(flow=flow, path=path, document=doc, digest=digest)


def parse_document(
    text: str, path: str, model: type[M], *, kind: str
) -> tuple[M, yamlnodes.Document, str]:
    """Parse YAML text into ``model`` (a flow, an event): every problem found is raised at
    once in a ``FlowLoadError``, each with the line and column it is at."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    try:
        doc = yamlnodes.load(text)
    except yaml.MarkedYAMLError as exc:
        # An unclosed quote or bracket is found at the end of the file: point at its start.
        at_end = "end of stream" in (exc.problem or "")
        mark = (exc.context_mark if at_end else None) or exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = "; ".join(filter(None, [exc.context, exc.problem])) or "the file is not valid YAML"
        raise FlowLoadError(
            [
                Problem(
                    path,
                    line,
                    col,
                    "yaml-syntax",
                    f"YAML syntax error: {what}",
                    "check the indentation and quoting on this line and the one above",
                )
            ]
        ) from None
    except UnsafeYAML as exc:
        raise FlowLoadError(
            [
                Problem(
                    path,
                    exc.line,
                    exc.column,
                    "yaml-refused",
                    str(exc),
                    "write plain values, lists and mappings",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise FlowLoadError(
            [Problem(path, 1, 1, "yaml-syntax", f"YAML error: {exc}", "simplify the file")]
        ) from None

    problems = [
        Problem(
            path,
            mark.line,
            mark.column,
            "duplicate-key",
            f"{p[-1]!r} is given twice here",
            "keep one; the second would silently win",
        )
        for p, mark in doc.duplicates
    ]
    data = doc.data
    if not isinstance(data, dict):
        problems.append(
            Problem(
                path,
                1,
                1,
                f"not-a-{kind}",
                f"the file is not a {kind}",
                f"a {kind} file is a mapping of names to values, starting with `version:`",
            )
        )
        raise FlowLoadError(problems)

    version_problem = _check_version(data, doc, path)
    if version_problem:
        raise FlowLoadError([*problems, version_problem])
    data = _upgrade(data)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_schema_problems(exc, doc, path, model))
    if problems:
        raise FlowLoadError(problems)
    return parsed, doc, digest


def load_file(path: Path, *, max_bytes: int) -> FlowDefinition:
    """Load one flow file, refusing files over ``max_bytes`` before reading them."""
    return load_text(read_text(path, max_bytes=max_bytes), path=str(path))


def read_text(path: Path, *, max_bytes: int) -> str:
    """A coordinator's YAML file as text; too large, unreadable or not UTF-8 is a problem."""
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise FlowLoadError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "missing",
                    f"there is no file or folder {path.absolute()}",
                    "run outreach in the folder that holds flows/ and locales/, or set "
                    "OUTREACH_FLOWS_DIR to your flows folder",
                )
            ]
        ) from None
    except OSError as exc:
        raise FlowLoadError(
            [Problem(name, 1, 1, "unreadable", f"cannot read: {exc.strerror}")]
        ) from None
    if size > max_bytes:
        raise FlowLoadError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "too-large",
                    f"the file is {size:,} bytes, over the {max_bytes:,} limit",
                    "split it into several flows joined with start_flow",
                )
            ]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FlowLoadError(
            [
                Problem(
                    name,
                    1,
                    1,
                    "encoding",
                    "the file is not UTF-8 text",
                    "save it as UTF-8 in your editor",
                )
            ]
        ) from None
    return text


def load_files(
    paths: Iterable[Path], kind: str, load: Callable[..., D], *, max_bytes: int
) -> tuple[list[D], list[Problem]]:
    """Every file of ``kind`` under ``paths`` read by ``load(text, path=...)`` (an event's,
    a partner's, a decision's loader), and the problems of those that would not load."""
    loaded: list[D] = []
    problems: list[Problem] = []
    for path in files_of_kind(paths, kind):
        try:
            loaded.append(load(read_text(path, max_bytes=max_bytes), path=str(path)))
        except FlowLoadError as exc:
            problems.extend(exc.problems)
    return loaded, problems


def flow_files(paths: Iterable[Path]) -> list[Path]:
    """The flow files named by ``paths``: files as given, folders searched for *.yaml."""
    return files_of_kind(paths, "flow")


def files_of_kind(paths: Iterable[Path], kind: str) -> list[Path]:
    """The files of one kind ("flow", "event") named by ``paths``: a file given by name is
    taken at its word; folders are searched for *.yaml of that kind."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.suffix in FLOW_SUFFIXES and kind_of(f) == kind)
            )
        elif kind_of(p) == kind:
            out.append(p)
    return out


def kind_of(path: Path) -> str:
    """Folders of flows also hold events and digests, which say so on a top-level line
    (``event: ...``); everything else is read as a flow."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return "flow"  # let load_file report why it cannot be read
    for line in head.splitlines():
        if line.startswith(OTHER_KINDS):
            return line.split(":", 1)[0]
    return "flow"


def _check_version(data: Mapping[str, Any], doc: yamlnodes.Document, path: str) -> Problem | None:
    version = data.get("version")
    where = doc.where(("version",))
    if version is None:
        return Problem(
            path,
            1,
            1,
            "missing-field",
            "missing required field 'version'",
            _REQUIRED_HINTS["version"],
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return Problem(
            path,
            where.line,
            where.column,
            "bad-version",
            f"version must be a whole number, not {version!r}",
            f"this Outreach writes `version: {SCHEMA_VERSION}`",
        )
    if version > SCHEMA_VERSION:
        return Problem(
            path,
            where.line,
            where.column,
            "newer-version",
            f"this file is written for format version {version}; "
            f"this Outreach understands up to {SCHEMA_VERSION}",
            "upgrade Outreach to load it",
        )
    return None


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    version = int(data["version"])
    while version < SCHEMA_VERSION:
        data = UPGRADES[version](data)
        version += 1
        data["version"] = version
    return data


def _schema_problems(
    exc: ValidationError, doc: yamlnodes.Document, path: str, root: type[BaseModel]
) -> list[Problem]:
    by_place: dict[yamlnodes.Path, list[Problem]] = {}
    for err in exc.errors():
        raw = tuple(err["loc"])
        place = _real_path(raw, doc)
        kind = err["type"]
        name = str(raw[-1]) if raw else ""
        if kind == "missing":
            mark = doc.where(place)
            problem = Problem(
                path,
                mark.line,
                mark.column,
                "missing-field",
                f"missing required field {name!r}",
                _REQUIRED_HINTS.get(name, ""),
            )
        elif kind == "extra_forbidden":
            mark = doc.where(place, key=True)
            allowed = _fields_at(raw[:-1], root)
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else ("fields allowed here: " + ", ".join(allowed) if allowed else "")
            )
            problem = Problem(
                path, mark.line, mark.column, "unknown-field", f"unknown field {name!r}", hint
            )
        elif kind == "string_pattern_mismatch":
            mark = doc.where(place)
            problem = Problem(
                path,
                mark.line,
                mark.column,
                "bad-id",
                f"{err['input']!r} is not a valid id",
                "use lower-case letters, digits, '-' and '_', starting with a letter or digit",
            )
        else:
            mark = doc.where(place)
            message = str(err["msg"]).removeprefix("Value error, ")
            problem = Problem(
                path,
                mark.line,
                mark.column,
                "invalid-value",
                f"{_dotted(place)}: {message}" if place else message,
            )
        by_place.setdefault((*place, kind), []).append(problem)
    # A value that fits no branch of a union yields one error per branch: report it once.
    return [group[0] for group in by_place.values()]


def _real_path(loc: tuple[Any, ...], doc: yamlnodes.Document) -> yamlnodes.Path:
    """Drop the type names pydantic adds to a location for unions and validators."""
    out: yamlnodes.Path = ()
    for part in loc:
        candidate = (*out, part)
        if candidate in doc.values or candidate in doc.keys:
            out = candidate
        elif isinstance(part, str) and (
            part.startswith(("function-", "union[", "nullable["))
            or "[" in part
            or part in ("str", "int", "float", "bool")
        ):
            continue
        else:
            out = candidate
    return out


def _dotted(path: yamlnodes.Path) -> str:
    return ".".join(str(p) for p in path)


def _fields_at(path: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    """The field names allowed at ``path``, for did-you-mean suggestions."""
    model: type[BaseModel] | None = root
    skip_key = False
    for part in path:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        if model is None:
            return []
        match = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if match is None:
            return []
        model, skip_key = _inner_model(match.annotation)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model inside an annotation, and whether a mapping key stands before it."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner_model(args[0])
    if origin is dict:
        model, _ = _inner_model(args[1])
        return model, True
    if origin in (list, typing.Union, types.UnionType):
        for arg in args:
            model, skip = _inner_model(arg)
            if model is not None:
                return model, skip
    return None, False
