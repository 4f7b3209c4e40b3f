"""Case linking on a hand-made city: chains link, hubs do not, evidence names the path."""

from __future__ import annotations

import numpy as np
import pytest

from fanzha.errors import ConfigError, ValidationError
from fanzha.graph.components import components_scipy, connected_components, union_find_numpy
from fanzha.graph.linking import LinkConfig, link_cases, pairs_in_groups


def config() -> LinkConfig:
    return LinkConfig(max_degree={"url": 5})  # popular.com is named by 7 cases → a hub


def test_chains_link_and_hubs_do_not(linked_city) -> None:
    result = link_cases(linked_city, config())
    pairs = pairs_in_groups(zip(result.cases.case_id, result.cases.group_id, strict=True))
    assert ("C1", "C2") in pairs
    assert {("C11", "C3"), ("C11", "C4"), ("C3", "C4")} <= pairs
    assert not pairs & {("C5", "C6"), ("C7", "C8"), ("C10", "C9")}
    assert len(result.groups) == 2
    hubs = dict(zip(result.hubs.node, result.hubs.reason, strict=True))
    assert hubs["account:POOL"] == "account_type:pooled"
    assert hubs["phone:95588"] == "allow_list"
    assert hubs["url:popular.com"].startswith("degree>")


def test_evidence_names_the_chain(linked_city) -> None:
    result = link_cases(linked_city, config())
    ev = result.evidence.set_index("case_id")
    assert ev.loc["C2", "linked_to"] == "C1"
    assert ev.loc["C2", "hops"] == 4
    assert ev.loc["C2", "identifiers"] == ["account:A2", "id:X", "account:A1"]
    assert "—account_owner→ id:X" in ev.loc["C2", "path"]
    group = result.groups.set_index("group_id").loc[ev.loc["C2", "group_id"]]
    assert group.regions == ["440305", "510104"]
    assert set(group.identifiers) == {"account:A1", "account:A2", "id:X"}


def test_without_hub_suppression_unrelated_cases_merge(linked_city) -> None:
    loose = LinkConfig(max_degree={}, allow=(), hub_account_types=())
    result = link_cases(linked_city, loose)
    pairs = pairs_in_groups(zip(result.cases.case_id, result.cases.group_id, strict=True))
    assert {("C5", "C6"), ("C7", "C8"), ("C10", "C9")} <= pairs


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown linking edge kinds"):
        LinkConfig(kinds=("case_phone", "gossip"))


def test_components_agree_with_scipy_and_numpy() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    u, v = rng.integers(0, n, 4000), rng.integers(0, n, 4000)
    expected = components_scipy(u, v, n)
    assert np.array_equal(connected_components(u, v, n), expected)
    assert np.array_equal(union_find_numpy(u, v, n), expected)
    assert connected_components(np.array([1]), np.array([3])).tolist() == [0, 1, 2, 1]


def test_index_edges_maps_string_keys_and_survives_hash_collisions() -> None:
    import pyarrow as pa

    from fanzha.engine.duckdb import DuckDBEngine
    from fanzha.graph.components import encode_keys, index_edges

    engine = DuckDBEngine(threads=1)
    engine.register(
        "e",
        pa.table(
            {"src": ["phone:1", "phone:2", "account:9", "phone:1"], "dst": ["id:X", "id:X", "id:Y", "id:Z"]}
        ),
    )
    for exact in (False, True):
        keys, src, dst = index_edges(engine, "e", exact=exact)
        assert keys.to_pylist() == ["phone:1", "phone:2", "account:9", "id:X", "id:Y", "id:Z"]
        assert src.tolist() == [0, 1, 2, 0] and dst.tolist() == [3, 3, 4, 5]
        assert src.dtype == np.int32 and dst.dtype == np.int32
        labels = connected_components(src, dst, len(keys))
        assert labels.tolist() == [0, 0, 2, 0, 2, 0]
    # forced collisions: equal 64-bit hashes for different keys fall back to exact encoding
    a, b = pa.array(["a", "b", "a"]), pa.array(["c", "a", "bb"])
    same_hash = np.array([7, 7, 7], np.uint64)
    for exact in (False, True):
        keys, s, d = encode_keys(a, b, same_hash, same_hash, exact=exact)
        assert [keys[i].as_py() for i in s] == ["a", "b", "a"]
        assert [keys[i].as_py() for i in d] == ["c", "a", "bb"]
    empty = pa.array([], pa.string())
    keys, s, d = encode_keys(empty, empty, np.zeros(0, np.uint64), np.zeros(0, np.uint64))
    assert len(keys) == 0 and len(s) == 0 and s.dtype == np.int32
    with pytest.raises(ValidationError):
        encode_keys(pa.array(["a", None]), pa.array(["b", "c"]), same_hash[:2], same_hash[:2])


def test_no_cases_links_nothing_without_crashing() -> None:
    """A city (or a day) without any case report: empty groups, not a pandas dtype error."""
    import pandas as pd

    from fanzha.engine.duckdb import DuckDBEngine

    eng = DuckDBEngine(threads=1)
    eng.register(
        "cases",
        pd.DataFrame(
            {
                "case_id": pd.Series([], dtype=object),
                "suspect_phones": pd.Series([], dtype=object),
                "suspect_accounts": pd.Series([], dtype=object),
                "suspect_urls": pd.Series([], dtype=object),
                "suspect_wallets": pd.Series([], dtype=object),
                "suspect_app_accounts": pd.Series([], dtype=object),
                "region": pd.Series([], dtype=object),
            }
        ),
    )
    result = link_cases(eng)
    assert result.groups.empty and result.cases.empty and result.evidence.empty
    eng.close()


def test_cases_that_share_nothing_stay_single() -> None:
    import pandas as pd

    from fanzha.engine.duckdb import DuckDBEngine

    from .conftest import case

    eng = DuckDBEngine(threads=1)
    eng.register("cases", pd.DataFrame([case("C1", phones=["13900000001"]), case("C2", accounts=["A9"])]))
    result = link_cases(eng)
    assert result.groups.empty
    assert result.cases.group_id.tolist() == ["S:C1", "S:C2"]
    # the columns of a city with linked groups (before: a stray ``label``, no ``last_reported``)
    eng.register(
        "cases", pd.DataFrame([case("C1", phones=["13900000001"]), case("C2", phones=["13900000001"])])
    )
    linked = link_cases(eng).groups
    assert list(result.groups.columns) == list(linked.columns)
    assert result.groups.loss_fen.dtype == linked.loss_fen.dtype == "int64"
    eng.close()


def test_a_handset_logging_in_to_both_mule_accounts_links_their_cases() -> None:
    """跑分: two cases name different accounts; one gang phone logs in to both (登录日志)."""
    import pandas as pd

    from fanzha.engine.duckdb import DuckDBEngine

    from .conftest import case

    eng = DuckDBEngine(threads=1)
    eng.register("cases", pd.DataFrame([case("C1", accounts=["A1"]), case("C2", accounts=["A2"])]))
    at = pd.Timestamp("2026-03-01", tz="UTC")
    eng.register(
        "logins",
        pd.DataFrame(
            {"account": ["A1", "A2", "A3"], "at": [at] * 3, "imei": ["GANGPHONE", "GANGPHONE", None]}
        ),
    )
    result = link_cases(eng)
    assert result.cases.group_id.nunique() == 1
    ev = result.evidence.set_index("case_id").loc["C2"]
    assert ev.identifiers == ["account:A2", "device:GANGPHONE", "account:A1"]
    assert "account_login_device" in ev.path
    eng.close()
