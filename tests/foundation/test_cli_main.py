"""The ``fanzha`` entry point: user errors are one line and exit 2; usage errors are click's."""

from __future__ import annotations

import sys

import pytest

from fanzha.cli.main import main


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["fanzha", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


def test_fanzha_error_is_one_line_and_exit_2(monkeypatch, capsys, settings) -> None:
    assert run(monkeypatch, "ingest", "/no/such/file.csv", "--kind", "calls") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file or folder" in err and "Traceback" not in err


def test_a_path_the_file_system_refuses_is_one_line(monkeypatch, capsys, settings, tmp_path) -> None:
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "sim"  # a folder under a file: cannot be made
    assert run(monkeypatch, "train", "numbers", "--data", str(tmp_path / "f.csv"), "--out", str(out)) == 2
    (tmp_path / "f.csv").write_text("id,x,label\n" + "".join(f"n{i},{i},{i % 2}\n" for i in range(40)))
    capsys.readouterr()
    assert run(monkeypatch, "train", "numbers", "--data", str(tmp_path / "f.csv"), "--label", "label",
               "--out", str(out)) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "afile" in err and "Traceback" not in err


def test_usage_error_is_a_usage_line_not_a_traceback(monkeypatch, capsys) -> None:
    assert run(monkeypatch, "api-key", "create", "police") == 2
    err = capsys.readouterr().err
    assert "Missing option" in err and "Traceback" not in err


def test_version(monkeypatch, capsys) -> None:
    assert run(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == "0.1.0"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FANZHA_THREADS", "0", "FANZHA_THREADS='0': input should be greater than or equal to 1"),
        ("FANZHA_THREADS", "abc", "FANZHA_THREADS='abc': input should be a valid integer"),
    ],
)
def test_a_bad_setting_is_one_line(monkeypatch, capsys, settings, variable, value, message) -> None:
    """README's settings: a refused value printed pydantic's traceback (QA: docs followed literally)."""
    from fanzha.settings import get_settings

    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        assert run(monkeypatch, "ingest-report") == 2
    finally:
        get_settings.cache_clear()
    err = " ".join(capsys.readouterr().err.split())
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["abc", "2.5", "１x"])
def test_a_bad_kernel_thread_count_is_a_config_error(monkeypatch, value) -> None:
    from fanzha.errors import ConfigError
    from fanzha.risk.cpus import workers

    monkeypatch.setenv("FANZHA_KERNEL_THREADS", value)
    with pytest.raises(ConfigError, match="FANZHA_KERNEL_THREADS"):
        workers()
    monkeypatch.setenv("FANZHA_KERNEL_THREADS", "3")
    assert workers() == 3
