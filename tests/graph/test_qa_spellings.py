"""QA: one identifier, many spellings. Cases landed through `fanzha ingest` that name one phone,
account or URL host, each spelled its own way, link in `fanzha link`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from fanzha.cli.main import app

runner = CliRunner()
HEADER = "case_id,reported_at,victim_id,fraud_type,loss_fen,narrative,suspect_phones,suspect_accounts,suspect_urls\n"


def _ingest_and_link(tmp_path: Path, rows: list[str], *link_args: str) -> dict[str, str]:
    (tmp_path / "cases.csv").write_text(HEADER + "\n".join(rows) + "\n", "utf-8")
    result = runner.invoke(app, ["ingest", str(tmp_path / "cases.csv"), "--kind", "cases"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "graph"
    result = runner.invoke(app, ["link", "--format", "csv", "--out", str(out), *link_args])
    assert result.exit_code == 0, result.output
    groups = pd.read_csv(out / "case_groups.csv", dtype=str)
    return dict(zip(groups.case_id, groups.group_id, strict=True))


def test_cases_naming_one_host_link_whatever_follows_the_host(settings, tmp_path: Path) -> None:
    # was: the graph took the host of a case's URL as everything before the first '/' or ':', so
    # 'bad.cn?x=1' and 'bad.cn#pay' were nodes of their own and their cases linked to nothing
    victim = "11010519491231002X"
    groups = _ingest_and_link(
        tmp_path,
        [
            f"C1,2024-05-01 10:00:00,{victim},刷单返利,100,n,,,http://bad.cn?x=1",
            f"C2,2024-05-01 11:00:00,{victim},刷单返利,100,n,,,bad.cn#pay",
            f"C3,2024-05-01 12:00:00,{victim},刷单返利,100,n,,,HTTP://BAD.CN.:80/login",
            f"C4,2024-05-01 13:00:00,{victim},刷单返利,100,n,,,https://bad.cn",
        ],
    )
    assert len(set(groups.values())) == 1, groups


def test_an_allow_file_entry_suppresses_its_identifier_however_it_is_spelled(
    settings, tmp_path: Path
) -> None:
    # was: the allow file's entries were compared with the graph's keys as written, so
    # 'phone:+86 138 0013 8000' or 'url:WWW.Shop.CN.' allowed nothing and the hub still linked the cases
    victim = "11010519491231002X"
    rows = [
        f"C1,2024-05-01 10:00:00,{victim},刷单返利,100,n,13800138000,6222020000000001234,http://www.shop.cn/a",
        f"C2,2024-05-01 11:00:00,{victim},刷单返利,100,n,13800138000,,",
        f"C3,2024-05-01 12:00:00,{victim},刷单返利,100,n,,6222020000000001234,",
        f"C4,2024-05-01 13:00:00,{victim},刷单返利,100,n,,,www.shop.cn/b",
    ]
    linked = _ingest_and_link(tmp_path, rows)
    assert len(set(linked.values())) == 1, linked
    allow = tmp_path / "allow.txt"
    allow.write_text(
        "phone:+86 138 0013 8000\naccount:6222 0200 0000 0001 234  # bank's pooled account\n"
        "url:WWW.Shop.CN.\n",
        "utf-8",
    )
    groups = _ingest_and_link(tmp_path, rows, "--allow-file", str(allow))
    assert len(set(groups.values())) == 4, groups
    hubs = pd.read_csv(tmp_path / "graph" / "hubs.csv", dtype=str)
    assert set(hubs.node) >= {"phone:13800138000", "account:6222020000000001234", "url:www.shop.cn"}
