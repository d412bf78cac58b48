"""``--help`` as a coordinator reads it, and the one place a command's failure becomes a line
of text.

Typer's own help shows Python's view of each option (``<bool>``, ``<list[str]>``, ``{flow}``)
and passes docstring markup through. Here each option is shown the way command-line tools have
long written them: a flag alone (``--fast``), an option with the form of its value
(``--field NAME=VALUE``), "(repeatable)" where it may be given more than once, arguments in
capitals. Only click's public parameter attributes and its help formatter are used, so this
does not depend on how a Typer version draws its own help.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from outreach.errors import OutreachError

F = TypeVar("F", bound=Callable[..., Any])


class Formatter(Protocol):
    """What this module uses of click's ``HelpFormatter``."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None: ...
    def write_paragraph(self) -> None: ...
    def write_text(self, text: str) -> None: ...
    def write_dl(self, rows: Sequence[tuple[str, str]]) -> None: ...
    def section(self, name: str) -> Any: ...
    def indentation(self) -> Any: ...


class Command(TyperCommand):
    """A command whose help reads as a coordinator expects."""

    def format_help(self, ctx: typer.Context, formatter: Formatter) -> None:  # type: ignore[override]
        _write_help(self, ctx, formatter, "")

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        """The usage line of a mistyped command, as in its help."""
        return _usage(self, ctx)


class Group(TyperGroup):
    """A group of commands, with the same help."""

    def format_help(self, ctx: typer.Context, formatter: Formatter) -> None:  # type: ignore[override]
        _write_help(self, ctx, formatter, "COMMAND [ARGS]...")
        commands = [
            (name, _first_paragraph(command.help or ""))
            for name, command in self.commands.items()
            if not command.hidden
        ]
        if commands:
            with formatter.section("Commands"):
                formatter.write_dl(commands)

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        """Run the command; what stops it for a reason the coordinator can act on (a missing
        database, a file not there, a broken flow) is one line, not a traceback."""
        try:
            return super().invoke(ctx)
        except OutreachError as exc:
            raise _fail(str(exc)) from None
        except OSError as exc:
            raise _fail(_describe_os_error(exc)) from None


class Typer(typer.Typer):
    """``typer.Typer`` whose groups and commands use the help above."""

    def __init__(self, *, help: str) -> None:
        super().__init__(cls=Group, no_args_is_help=True, help=help)

    def command(  # type: ignore[override]
        self, name: str | None = None, *, cls: type[TyperCommand] = Command, **options: Any
    ) -> Callable[[F], F]:
        return super().command(name, cls=cls, **options)


def _write_help(command: Any, ctx: typer.Context, formatter: Formatter, extra: str) -> None:
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    formatter.write_usage(ctx.command_path, " ".join([*_usage(command, ctx), extra]).strip())
    text = inspect.cleandoc(command.help or "")
    if text:
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(text)
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl([(_argument_name(p), _describe(p)) for p in arguments])
    with formatter.section("Options"):
        formatter.write_dl([(_option_name(p), _describe(p)) for p in options])


def _usage(command: Any, ctx: typer.Context) -> list[str]:
    arguments = [p for p in command.get_params(ctx) if p.param_type_name == "argument"]
    return ["[OPTIONS]", *(_argument_usage(p) for p in arguments)]


def _argument_name(param: Any) -> str:
    return str(param.metavar or param.name).upper()


def _argument_usage(param: Any) -> str:
    name = _argument_name(param) if param.required else f"[{_argument_name(param)}]"
    return name + ("..." if param.nargs != 1 else "")


def _option_name(param: Any) -> str:
    """``--fast`` for a flag, ``--field NAME=VALUE`` for an option that takes a value."""
    names = ", ".join(param.opts)
    if param.is_flag or param.count:
        return names
    return f"{names} {param.metavar or str(param.name).upper()}"


def _describe(param: Any) -> str:
    text = param.help or ""
    if getattr(param, "multiple", False):
        text += " (repeatable)"
    notes = []
    default = param.default
    shown = getattr(param, "show_default", True)
    if shown and default not in (None, False, (), []) and not callable(default):
        notes.append(f"default: {default}")
    if param.param_type_name == "option" and isinstance(param.envvar, str):
        notes.append(f"or set {param.envvar}")
    if param.required:
        notes.append("required")
    return f"{text}  [{'; '.join(notes)}]" if notes else text


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


def _describe_os_error(exc: OSError) -> str:
    """``No such file or directory: no.md`` rather than ``[Errno 2] ...``."""
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc)


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())
