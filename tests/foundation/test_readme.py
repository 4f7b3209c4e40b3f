"""The command lines of the README and docs/ name commands and options that exist (docs do not rot)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from fanzha.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _commands(path: Path) -> list[list[str]]:
    """Every ``fanzha …`` invocation in the bash blocks of ``path`` (split on ``&&``, comments
    dropped, continuation lines joined, ``a|b`` alternatives expanded)."""
    blocks = re.findall(r"```bash\n(.*?)```", path.read_text("utf-8"), flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        if "fanzha " not in line:  # other tools' lines (a curl with a quoted body over lines …)
            continue
        words_all = shlex.split(line, comments=True)
        parts: list[list[str]] = [[]]
        for w in words_all:
            if w == "&&":
                parts.append([])
            else:
                parts[-1].append(w)
        for words in parts:
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
    while hasattr(command, "commands") and rest:
        if rest[0] in command.commands:
            command, rest = command.commands[rest[0]], rest[1:]
            continue
        group_option = next((p for p in command.params if rest[0] in p.opts), None)
        if group_option is None:
            break
        rest = rest[1:] if group_option.is_flag else rest[2:]  # a group's own option (ops --purpose …)
    return command, rest


def test_the_readme_has_commands() -> None:
    assert len(_commands(DOCS[0])) >= 20


@pytest.mark.parametrize(
    "words",
    [words for path in DOCS for words in _commands(path)],
    ids=lambda w: " ".join(w[:3]),
)
def test_readme_command_exists_with_its_options(words: list[str]) -> None:
    command, rest = _resolve(words)
    assert not hasattr(command, "commands"), f"{' '.join(words)}: no such command"
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    unknown = [w for w in rest if w.startswith("--") and w.split("=")[0] not in known]
    assert not unknown, f"{' '.join(words)}: unknown option(s) {unknown}; the command takes {sorted(known)}"
