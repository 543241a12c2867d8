"""``hysupp simulate RECIPE --out FILE``: generate a scene (or fusion pair) with its protocol."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hysupp.cli.common import echo_json


def _describe_recipes() -> str:
    from hysupp.simulate import available_recipes

    lines = []
    for r in available_recipes():
        params = ", ".join(f"{p.name}={p.default!r}" for p in r.params)
        lines.append(f"{r.name:<22} {r.summary()}\n{'':<22} params: {params}")
    return "\n".join(lines)


@click.command()
@click.argument("recipe", required=False)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Recipe parameter (repeatable).")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Output file: .mat (HySUPP layout), .npz or .tif for scenes; .npz, .mat or .h5 for fusion pairs.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--json", "as_json", is_flag=True, help="Print the protocol as JSON.")
def simulate(recipe: str | None, params: tuple[str, ...], out: str | None, overwrite: bool, as_json: bool) -> None:
    """Generate RECIPE's data (without RECIPE: list the recipes and their parameters).

    The protocol (recipe, every parameter, operators, seed, version) is embedded in the output
    where the format allows it and always written beside it as OUT.protocol.json.
    """
    from hysupp.errors import InputError
    from hysupp.io import atomic_output, save
    from hysupp.methods.params import parse_param_strings
    from hysupp.records import to_jsonable
    from hysupp.scene import Scene
    from hysupp.simulate import get_recipe

    if recipe is None:
        click.echo(_describe_recipes())
        return
    cls = get_recipe(recipe)
    if out is None:
        raise InputError("hysupp simulate: pass --out FILE (.mat, .npz, .tif, or .h5 for fusion pairs)")
    result = cls(**parse_param_strings(cls.name, cls.params, params)).generate()
    if isinstance(result, Scene):
        protocol = result.extras.get("protocol", {})
        save(result, out, overwrite=overwrite)
    else:
        from hysupp.io.pair import save_fusion_pair

        protocol = result.protocol
        save_fusion_pair(result, out, overwrite=overwrite)
    sidecar = Path(f"{out}.protocol.json")
    with atomic_output(sidecar, overwrite) as tmp:
        Path(tmp).write_text(json.dumps(to_jsonable(protocol), indent=2))
    if as_json:
        echo_json({"output": out, "protocol": protocol})
    else:
        click.echo(f"{cls.name}: wrote {out} and {sidecar}")
