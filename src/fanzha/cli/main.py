"""The ``fanzha`` command. Each area registers its commands from its own ``fanzha.cli.<area>``
module (a ``register(app)`` function), so areas stay independent and start-up stays fast."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from fanzha import __version__
from fanzha.cli.groups import eval_app, score_app, train_app
from fanzha.demo import module_exists
from fanzha.errors import FanzhaError

AREAS = (
    "fanzha.cli.ingest",
    "fanzha.cli.simulate",
    "fanzha.cli.risk",
    "fanzha.cli.texts",
    "fanzha.cli.graph",
    "fanzha.cli.ops",
    "fanzha.cli.serve",
    "fanzha.cli.demo",
)

app = typer.Typer(
    name="fanzha",
    help="反诈 fanzha — early warning (预警), interception (阻断) and tracing (溯源) of telecom fraud.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(train_app, name="train")
app.add_typer(score_app, name="score")
app.add_typer(eval_app, name="eval")


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


for _module in AREAS:
    if module_exists(_module):
        importlib.import_module(_module).register(app)


def main() -> None:
    """Entry point: fanzha errors, and the file system refusing a path, become one clear line and
    exit code 2, never a traceback.

    Click (inside typer) prints usage errors itself and exits 2 in standalone mode.
    """
    try:
        app()
    except FanzhaError as exc:
        _fail(str(exc))
    except OSError as exc:  # the file system refused (a folder that cannot be made, no permission …)
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{where}{exc.strerror or exc}; check the path and its permissions")


def _fail(message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False)
    sys.exit(2)


if __name__ == "__main__":
    main()
