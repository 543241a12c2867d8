"""``hysupp list [METHOD]``: registered methods, or one method's declared parameters."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json
from hysupp.methods.registry import TASKS, available, get_method, plugin_errors


def _method_dict(cls) -> dict:
    return {"name": cls.name, "task": cls.task, "summary": cls.summary(), "reference": cls.reference,
            "module": cls.__module__, "params": [p.to_dict() for p in cls.params]}


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


@click.command("list")
@click.argument("method", required=False)
@click.option("--task", type=click.Choice(TASKS), default=None, help="Only methods of this task.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(method: str | None, task: str | None, as_json: bool) -> None:
    """List registered methods (built-in and plugins), or METHOD's parameters."""
    if method:
        cls = get_method(method, task)
        if as_json:
            echo_json(_method_dict(cls))
            return
        click.echo(f"{cls.name} ({cls.task}): {cls.summary()}")
        if cls.reference:
            click.echo(f"reference: {cls.reference}")
        if cls.params:
            rows = [[p.name, p.type.__name__, repr(p.default), p.describe_range(), p.doc] for p in cls.params]
            click.echo(_table(rows, ["parameter", "type", "default", "range", "description"]))
        else:
            click.echo("no parameters")
        return
    classes = available(task)
    if as_json:
        echo_json({"methods": [_method_dict(c) for c in classes], "plugin_errors": plugin_errors()})
        return
    rows = [[c.name, c.task, c.summary()] for c in classes]
    click.echo(_table(rows, ["method", "task", "description"]))
    for name, error in plugin_errors().items():
        click.echo(f"warning: plugin {name!r} failed to load: {error}", err=True)
