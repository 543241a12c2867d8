"""The ``hysupp`` command line: a thin layer over the Python API (DESIGN §6)."""

from __future__ import annotations

import click

from hysupp import __version__
from hysupp.cli.bench import bench
from hysupp.cli.datasets import datasets
from hysupp.cli.common import HysuppGroup, add_verbosity, verbosity_options
from hysupp.cli.fuse import fuse
from hysupp.cli.info import info
from hysupp.cli.list_methods import list_command
from hysupp.cli.run import run
from hysupp.cli.simulate import simulate
from hysupp.cli.sr import sr
from hysupp.cli.train import train

MAIN_HELP = """hysupp: hyperspectral unmixing and fusion toolbox.

Every command writes its results to a new folder (or file) with a JSON record of the run; warnings
go to stderr (-q silences them, -v adds how each input was read); errors are one line, exit code 2.
`hysupp COMMAND --help` shows the options and examples of each command; shell completion: see the
command-line page of the documentation (_HYSUPP_COMPLETE=bash_source hysupp).

\b
Examples:
  hysupp run                                   unmix the bundled DC1 scene with FCLS + VCA
  hysupp run -m SUnSAL -d scene.mat --library usgs1995 --dry-run
  hysupp info scene.tif                        how a file is read
  hysupp list SUnSAL                           a method's parameters
  hysupp simulate dirichlet --out mix.tif      a synthetic scene (truth in mix.tif.truth.npz)
  hysupp fuse -m MTF-GLP -d wv2.mat --protocol rr
  hysupp sr -m Bicubic -d scene.tif --ratio 2 -o out/sr
  hysupp train FusionNet -d wv2.mat --out model.pt
  hysupp bench hysupp-blind --seeds 1 -o out/blind
"""


@click.group(cls=HysuppGroup, help=MAIN_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hysupp")
@verbosity_options
def main() -> None:
    pass


main.add_command(run)
main.add_command(fuse)
main.add_command(bench)
main.add_command(info)
main.add_command(list_command)
main.add_command(simulate)
main.add_command(train)
main.add_command(sr)
main.add_command(datasets)
if not info.short_help:
    info.short_help = "How a file is read: shape, layout, values, wavelengths, georef, truth."
add_verbosity(main)   # -q/-v on every command, including those that do not declare them

__all__ = ["main"]
