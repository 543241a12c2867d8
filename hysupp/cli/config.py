"""``--config FILE.toml`` for ``hysupp run`` and ``hysupp fuse``: the options of the command in a file.

The keys are the command's long option names, with ``-`` or ``_`` (``align-by`` or ``align_by``),
plus two tables, ``[params]`` (the method's ``--param`` values) and ``[extractor_params]`` (``run``
only)::

    method = "SUnSAL"
    data = "cuprite.mat"          # paths are relative to the current directory, as on the command line
    library = "usgs1995"
    p = 12
    out = "runs/sunsal"

    [params]
    lam = 1e-3
    max_iter = 500

Options given on the command line override the file (``--param`` entries per key). Unknown keys
are refused with the closest option names. The file's path, SHA-256 and the resolved options are
recorded in ``run.json`` (``config``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import click

__all__ = ["CONFIG_KEY", "config_option", "config_record", "merged_params"]

#: ``ctx.meta`` key of the loaded configuration
CONFIG_KEY = "hysupp.config"
#: tables of method parameters (table name -> the command's multiple ``key=value`` option)
PARAM_TABLES = {"params": "params", "extractor_params": "extractor_params"}
#: options that make no sense in a file
NOT_IN_FILE = {"config", "help", "dry_run"}


def _option_names(command: click.Command) -> dict[str, click.Option]:
    """Every spelling a file may use for each option: the long names with ``-`` or ``_`` and the
    parameter name."""
    names: dict[str, click.Option] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in NOT_IN_FILE or not param.expose_value:
            continue
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                names[opt[2:]] = param
                names[opt[2:].replace("-", "_")] = param
        if param.name:
            names[param.name] = param
    return names


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from hysupp.methods.registry import close_matches
    from hysupp.records import file_sha256

    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise click.BadParameter(f"file {value!r} not found", ctx=ctx, param=param) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{value!r} is not valid TOML: {exc}", ctx=ctx, param=param) from None
    names = _option_names(ctx.command)
    tables = {t: o for t, o in PARAM_TABLES.items() if any(p.name == o for p in ctx.command.params)}
    default_map: dict[str, Any] = {}
    param_tables: dict[str, dict[str, Any]] = {}
    for key, val in data.items():
        if key in tables or key.replace("-", "_") in tables:
            table = key.replace("-", "_")
            if not isinstance(val, dict):
                raise click.BadParameter(f"{value!r}: [{key}] must be a table of key = value", ctx=ctx, param=param)
            param_tables[table] = dict(val)
            continue
        option = names.get(key)
        if option is None:
            close = close_matches(key, sorted({*names, *tables}))
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise click.BadParameter(f"{value!r}: unknown key {key!r}{hint} (keys are the options of hysupp "
                                     f"{ctx.command.name}, plus {', '.join(f'[{t}]' for t in tables)})",
                                     ctx=ctx, param=param)
        if isinstance(val, dict):
            raise click.BadParameter(f"{value!r}: {key} must be a value, not a table", ctx=ctx, param=param)
        if option.multiple and not isinstance(val, list):
            val = [val]
        default_map[option.name] = val
    ctx.default_map = {**(ctx.default_map or {}), **default_map}
    ctx.meta[CONFIG_KEY] = {"path": os.path.abspath(value), "sha256": file_sha256(path), "values": data,
                            "param_tables": param_tables}
    return value


def config_option(f: Any) -> Any:
    """The ``--config FILE.toml`` option (eager: its values become the defaults of the other options)."""
    return click.option("--config", "config", type=click.Path(dir_okay=False), default=None, is_eager=True,
                        expose_value=False, callback=_load_config, metavar="FILE.toml",
                        help="Read the options from a TOML file (keys: the option names; tables [params] and "
                             "[extractor_params]); command-line options override it. Recorded in run.json.")(f)


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def merged_params(table: str, given: tuple[str, ...]) -> tuple[str, ...]:
    """The ``key=value`` strings of the file's ``[table]`` followed by those of the command line (the
    later ones win, key by key)."""
    ctx = click.get_current_context()
    config = ctx.meta.get(CONFIG_KEY)
    if not config or table not in config["param_tables"]:
        return tuple(given)
    overridden = {item.split("=", 1)[0].strip().replace("-", "_") for item in given}
    from_file = tuple(f"{k}={_format(v)}" for k, v in config["param_tables"][table].items()
                      if k.replace("-", "_") not in overridden)
    return from_file + tuple(given)


def config_record(options: dict[str, Any]) -> dict[str, Any] | None:
    """The ``config`` section of ``run.json``: the file's ``path``, ``sha256``, its ``values`` and
    the resolved ``options`` of the command (file, then command line); None without ``--config``."""
    ctx = click.get_current_context()
    config = ctx.meta.get(CONFIG_KEY)
    if not config:
        return None
    return {"path": config["path"], "sha256": config["sha256"], "values": config["values"],
            "options": {k: v for k, v in options.items() if k not in NOT_IN_FILE}}
