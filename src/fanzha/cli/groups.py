"""Command groups that several areas add commands to (``fanzha train numbers``, ``… texts`` …)."""

from __future__ import annotations

import typer

train_app = typer.Typer(help="Train a model (numbers, accounts, texts, urls).", no_args_is_help=True)
score_app = typer.Typer(help="Score records with a trained model.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models on simulated and real data.", no_args_is_help=True)
