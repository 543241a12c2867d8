"""Shared CLI plumbing: user errors become one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import json
from typing import Any

import click

from hysupp.errors import HysuppError


class UserError(click.ClickException):
    exit_code = 2

    def format_message(self) -> str:
        return self.message


class HysuppGroup(click.Group):
    """A click group that turns :class:`HysuppError` into a one-line error with exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HysuppError as exc:
            raise UserError(str(exc)) from exc
        except FileNotFoundError as exc:
            raise UserError(f"file not found: {exc.filename or exc}") from exc


def echo_json(value: Any) -> None:
    from hysupp.records import to_jsonable

    click.echo(json.dumps(to_jsonable(value), indent=2))
