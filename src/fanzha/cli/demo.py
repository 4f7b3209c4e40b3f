"""``fanzha demo``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        people: int = typer.Option(2000, min=200, help="people in the simulated city"),
        days: int = typer.Option(14, min=2, help="days simulated"),
        seed: int = typer.Option(7, help="random seed (same seed → same city)"),
        keep: bool = typer.Option(False, help="keep the previous demo stores instead of wiping"),
    ) -> None:
        """Run the main job end to end on a simulated city (stores under .fanzha/demo)."""
        from fanzha.demo import run_demo
        from fanzha.settings import get_settings

        run_demo(get_settings(), people=people, days=days, seed=seed, fresh=not keep)
