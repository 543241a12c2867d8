"""The ``hysupp`` command line: a thin layer over the Python API (DESIGN §6)."""

from __future__ import annotations

import click

from hysupp import __version__
from hysupp.cli.common import HysuppGroup
from hysupp.cli.bench import bench
from hysupp.cli.datasets import datasets
from hysupp.cli.fuse import fuse
from hysupp.cli.info import info
from hysupp.cli.list_methods import list_command
from hysupp.cli.run import run
from hysupp.cli.simulate import simulate
from hysupp.cli.sr import sr
from hysupp.cli.train import train


@click.group(cls=HysuppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hysupp")
def main() -> None:
    """hysupp: hyperspectral unmixing and fusion toolbox.

    \b
    hysupp run                      unmix the bundled DC1-style scene with FCLS + VCA
    hysupp run --method FCLS --data scene.mat --endmembers truth
    hysupp info FILE                how a file was read
    hysupp list [METHOD]            registered methods and their parameters
    hysupp simulate [RECIPE] --out FILE   synthetic scenes and fusion pairs with their protocol
    hysupp train FusionNet --data FILE --out model.pt    train a fusion network on a scene
    hysupp fuse --method FusionNet --weights model.pt --data FILE   fuse with a trained network
    hysupp sr --method SRCNN --data scene.tif --ratio 2 --out DIR   single-image super-resolution
    """


main.add_command(run)
main.add_command(fuse)
main.add_command(bench)
main.add_command(info)
main.add_command(list_command)
main.add_command(simulate)
main.add_command(train)
main.add_command(sr)
main.add_command(datasets)

__all__ = ["main"]
