"""``hysupp list [METHOD]``: registered methods, or one method's declared parameters."""

from __future__ import annotations

import click

from hysupp.cli.common import complete_method, echo, echo_json, verbosity, verbosity_options
from hysupp.cli.text import rst_to_text, summary_text
from hysupp.methods.registry import TASKS, available, get_method, plugin_errors

LIST_HELP = """List the registered methods (built-in and plugins), or METHOD's parameters.

Descriptions are the first paragraph of each method's docstring, maths rendered as text.

\b
Examples:
  hysupp list                          # every method, by task
  hysupp list --task blind
  hysupp list SUnSAL                   # parameters, types, defaults, ranges
  hysupp list MTF-GLP --json
"""


def _method_dict(cls) -> dict:
    return {"name": cls.name, "task": cls.task, "summary": summary_text(cls.__doc__), "reference": cls.reference,
            "module": cls.__module__, "params": [p.to_dict() for p in cls.params]}


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


@click.command("list", help=LIST_HELP, short_help="Registered methods, or one method's parameters.")
@click.argument("method", required=False, shell_complete=complete_method())
@click.option("--task", type=click.Choice(TASKS), default=None, help="Only methods of this task.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@verbosity_options
def list_command(method: str | None, task: str | None, as_json: bool) -> None:
    if method:
        cls = get_method(method, task)
        if as_json:
            echo_json(_method_dict(cls))
            return
        echo(f"{cls.name} ({cls.task}): {summary_text(cls.__doc__)}")
        if cls.reference:
            echo(f"reference: {cls.reference}")
        if cls.params:
            rows = [[p.name, p.type.__name__, repr(p.default), p.describe_range(), rst_to_text(p.doc)]
                    for p in cls.params]
            echo(_table(rows, ["parameter", "type", "default", "range", "description"]))
        else:
            echo("no parameters")
        return
    classes = available(task)
    if as_json:
        echo_json({"methods": [_method_dict(c) for c in classes], "plugin_errors": plugin_errors()})
        return
    rows = [[c.name, c.task, summary_text(c.__doc__)] for c in classes]
    echo(_table(rows, ["method", "task", "description"]))
    if verbosity() > 0:
        for name, error in plugin_errors().items():
            echo(f"warning [plugin]: plugin {name!r} failed to load: {error}", err=True)
