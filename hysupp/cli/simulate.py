"""``hysupp simulate RECIPE --out FILE``: generate a scene (or fusion pair) with its protocol."""

from __future__ import annotations

import click

from hysupp.cli.common import SingleValuedCommand, complete_recipe, echo, echo_json, say, verbosity_options

SIMULATE_HELP = """Generate RECIPE's data (without RECIPE: list the recipes and their parameters).

The protocol (recipe, every parameter, operators, seed, version) is embedded in the output where
the format allows it and always written beside it as OUT.protocol.json. A .tif or .npy holds the
cube only: the ground truth (endmembers, abundances, library) is written beside it as
OUT.truth.npz -- read it back with `hysupp run --data OUT --truth OUT.truth.npz` or
hysupp.load(OUT, truth=OUT + ".truth.npz").

\\b
Examples:
  hysupp simulate                                  # the recipes and their parameters
  hysupp simulate dc1 --out dc1.mat
  hysupp simulate dirichlet --param p=4 --param snr=30 --out mix.tif
  hysupp simulate hs-ms --param data=pavia.mat --param ratio=4 --out pair.npz
"""


def _describe_recipes() -> str:
    from hysupp.cli.text import rst_to_text
    from hysupp.simulate import available_recipes

    lines = []
    for r in available_recipes():
        params = ", ".join(f"{p.name}={p.default!r}" for p in r.params)
        lines.append(f"{r.name:<22} {rst_to_text(r.summary())}\n{'':<22} params: {params}")
    return "\n".join(lines)


@click.command(cls=SingleValuedCommand, help=SIMULATE_HELP,
               short_help="Synthetic scenes and fusion pairs with their protocol.")
@click.argument("recipe", required=False, shell_complete=complete_recipe)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Recipe parameter (repeatable).")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Output file: .mat (HySUPP layout), .npz or .tif for scenes (.tif: truth in OUT.truth.npz); .npz, "
                   ".mat or .h5 for fusion pairs.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Print the protocol and the files written as JSON.")
@verbosity_options
def simulate(recipe: str | None, params: tuple[str, ...], out: str | None, overwrite: bool, as_json: bool) -> None:
    from hysupp.errors import InputError
    from hysupp.methods.params import parse_param_strings
    from hysupp.runs.simulate import simulate_to_file
    from hysupp.simulate import get_recipe

    if recipe is None:
        echo(_describe_recipes())
        return
    cls = get_recipe(recipe)
    if out is None:
        raise InputError("hysupp simulate: pass --out FILE (.mat, .npz, .tif, or .h5 for fusion pairs)")
    written = simulate_to_file(cls.name, out, params=parse_param_strings(cls.name, cls.params, params),
                               overwrite=overwrite)
    if as_json:
        echo_json({"output": out, "files": [str(p) for p in written.paths],
                   "truth": None if written.truth is None else str(written.truth), "protocol": written.protocol})
        return
    lines = [f"{cls.name}: wrote {', '.join(str(p) for p in written.paths)}"]
    if written.truth is not None:
        lines.append(f"the ground truth is in {written.truth}: hysupp run --data {out} --truth {written.truth}")
    say("\n".join(lines))
