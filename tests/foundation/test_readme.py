"""The README's command lines name commands and options that exist (documentation does not rot)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from fanzha.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> list[list[str]]:
    """Every ``fanzha …`` invocation in the README's bash blocks (split on ``&&``, comments dropped,
    continuation lines joined, ``a|b`` alternatives expanded)."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        for part in line.split("#", 1)[0].split("&&"):
            words = shlex.split(part)
            if not words or words[0] != "fanzha":
                continue
            alternatives = [i for i, w in enumerate(words[:3]) if "|" in w]
            if alternatives:
                i = alternatives[0]
                found += [[*words[:i], choice, *words[i + 1 :]] for choice in words[i].split("|")]
            else:
                found.append(words)
    return found


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    command: Any = typer.main.get_command(app)  # typer may carry its own copy of click: duck-typed
    rest = words[1:]
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command, rest = command.commands[rest[0]], rest[1:]
    return command, rest


def test_the_readme_has_commands() -> None:
    assert len(_commands()) >= 20


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w[:3]))
def test_readme_command_exists_with_its_options(words: list[str]) -> None:
    command, rest = _resolve(words)
    assert not hasattr(command, "commands"), f"{' '.join(words)}: no such command"
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    unknown = [w for w in rest if w.startswith("--") and w.split("=")[0] not in known]
    assert not unknown, f"{' '.join(words)}: unknown option(s) {unknown}; the command takes {sorted(known)}"
