"""``hysupp info FILE``: what a file holds and how its layout was interpreted."""

from __future__ import annotations

import click

from hysupp.cli.common import echo_json


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--key", default=None, help="Variable to read (.mat/.npz) when the layout is ambiguous.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(path: str, key: str | None, as_json: bool) -> None:
    """Report shape, dtype, value range, wavelengths, georef, truth and the layout used for PATH.

    Exits with status 2 when the file cannot be read (after listing its variables when the layout
    is ambiguous)."""
    from hysupp.io import describe, format_description

    description = describe(path, key=key)
    if as_json:
        echo_json(description)
    else:
        click.echo(format_description(description))
    if description.get("error"):
        raise click.exceptions.Exit(2)
