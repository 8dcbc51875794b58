"""History pages: newest first, cursors that walk every record exactly once."""

from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.views import history_entry
from ledger import history
from ledger.account import Account, Balance, Change, Entry, Kind
from ledger.errors import InvalidInput
from ledger.history import DEFAULT_PAGE, MAX_PAGE, page


def expected_page(count: int, limit: int, before: int | None):
    """The page worked out from the full list, independently of `page`."""
    older = [seq for seq in range(count, 0, -1) if before is None or seq < before]
    seqs = older[:limit]
    more = len(older) > limit
    return seqs, (seqs[-1] if more else None)


def walk(count: int, limit: int) -> list[list[int]]:
    pages, before = [], None
    while True:
        seqs, before = page(count, limit, before)
        pages.append(seqs)
        if before is None:
            return pages
        assert len(pages) <= count, "cursor does not make progress"


# --- single pages -------------------------------------------------------------


def test_first_page_is_the_newest_records_newest_first():
    assert page(10, 3, None) == ([10, 9, 8], 8)


def test_cursor_gives_the_next_older_records():
    assert page(10, 3, 8) == ([7, 6, 5], 5)
    assert page(10, 3, 5) == ([4, 3, 2], 2)
    assert page(10, 3, 2) == ([1], None)


def test_a_page_ending_on_the_oldest_record_has_no_next():
    assert page(6, 3, 4) == ([3, 2, 1], None)
    assert page(3, 3, None) == ([3, 2, 1], None)


def test_default_limit():
    seqs, cursor = page(100, None, None)
    assert seqs == list(range(100, 100 - DEFAULT_PAGE, -1))
    assert cursor == 100 - DEFAULT_PAGE + 1


def test_empty_history_is_one_empty_page():
    assert page(0, 10, None) == ([], None)


@pytest.mark.parametrize("before", [11, 12, 1000, 2**63 - 1])
def test_before_past_the_end_starts_at_the_newest(before):
    assert page(10, 4, before) == ([10, 9, 8, 7], 7)


def test_before_the_oldest_record_is_an_empty_page():
    assert page(10, 4, 1) == ([], None)


@pytest.mark.parametrize("limit", [1, 2, 50, MAX_PAGE])
def test_every_limit_from_1_to_max_is_allowed(limit):
    seqs, _ = page(1000, limit, None)
    assert len(seqs) == limit


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1, 10**9])
def test_limit_outside_1_to_max_is_refused(limit):
    with pytest.raises(InvalidInput) as caught:
        page(10, limit, None)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("limit: ")


@pytest.mark.parametrize("before", [0, -1, -(10**9), 2**63, 10**23])
def test_a_cursor_outside_1_to_2_63_minus_1_is_refused(before):
    with pytest.raises(InvalidInput) as caught:
        page(10, 5, before)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("before: ")


@given(
    count=st.integers(0, 300),
    limit=st.integers(1, MAX_PAGE),
    before=st.none() | st.integers(1, 400),
)
def test_any_page_matches_the_list_model(count, limit, before):
    assert page(count, limit, before) == expected_page(count, limit, before)


# --- walking all pages --------------------------------------------------------


@given(count=st.integers(0, 1000), limit=st.integers(1, MAX_PAGE))
def test_walking_all_pages_visits_every_record_once_newest_first(count, limit):
    pages = walk(count, limit)
    visited = [seq for p in pages for seq in p]
    assert visited == list(range(count, 0, -1))
    assert len(pages) == max(1, -(-count // limit))
    assert all(len(p) == limit for p in pages[:-1])


# --- records and their view ---------------------------------------------------


def _change(seq: int, entry: Entry, available_minor: int = 0, reserved_minor: int = 0) -> Change:
    """A change as a transition makes it: the account after, and its entry."""
    balances = {} if entry.asset is None else {entry.asset: Balance(available_minor, reserved_minor)}
    return Change(Account("alice", balances=MappingProxyType(balances), history_count=seq), entry)


def test_record_and_view_of_a_movement():
    rec = history.record(7, _change(7, Entry(Kind.DEBIT, "USD", 1250, "t1"), 8750, 100),
                         at_ms=1_700_000_000_000)
    assert history.state_key(7) == "h:7"
    assert rec == {
        "seq": 7, "kind": "debit", "at_ms": 1_700_000_000_000,
        "asset": "USD", "amount_minor": 1250, "balance_after": [8750, 100], "ref": "t1",
    }
    assert _shown(rec) == {
        "seq": 7, "kind": "debit", "at_ms": 1_700_000_000_000,
        "asset": "USD", "amount": "12.50", "balance_after": {"available": "87.50", "reserved": "1.00"},
        "ref": "t1",
    }


def test_record_and_view_without_asset_or_ref():
    rec = history.record(1, _change(1, Entry(Kind.OPEN)), at_ms=0)
    assert rec == {"seq": 1, "kind": "open", "at_ms": 0}
    assert _shown(rec) == rec


def test_view_formats_with_the_assets_scale():
    rec = history.record(2, _change(2, Entry(Kind.DEPOSIT, "ETH", 1), 1), at_ms=5)
    assert _shown(rec)["amount"] == "0.000000000000000001"
    assert _shown(rec)["balance_after"] == {"available": "0.000000000000000001",
                                            "reserved": "0.000000000000000000"}
    assert "ref" not in _shown(rec)


def test_record_keeps_the_callers_reference_and_metadata():
    entry = Entry(Kind.DEPOSIT, "USD", 500, reference="inv-42", metadata=MappingProxyType({"desk": "emea"}))
    rec = history.record(3, _change(3, entry, 500), at_ms=9)
    assert rec["reference"] == "inv-42" and rec["metadata"] == {"desk": "emea"}
    assert _shown(rec)["reference"] == "inv-42" and _shown(rec)["metadata"] == {"desk": "emea"}


def _shown(rec: dict) -> dict:
    """A record as the contract shows it (api/views.py), fields unset left out as on the wire."""
    return history_entry(rec).model_dump(exclude_unset=True)


# --- records kept in groups -----------------------------------------------------


def _rec(seq: int) -> dict:
    return {"seq": seq, "kind": "debit", "at_ms": 0}


def _state(calls: list[int], grouped_calls: list[bool]) -> tuple[dict, int]:
    """An account's history entries after `calls` (records written by each
    call), each kept alone per record or grouped, as the shell writes them."""
    state, seq = {}, 0
    for n, in_groups in zip(calls, grouped_calls):
        records = [_rec(s) for s in range(seq + 1, seq + n + 1)]
        seq += n
        if in_groups:
            state.update(history.grouped(records))
        else:
            state.update((history.state_key(r["seq"]), r) for r in records)
    return state, seq


def _read_page(state: dict, count: int, limit: int, before: int | None):
    """A page read as Account.history reads it: the page's keys, then the
    keys above when its newest record has none."""
    seqs, next_cursor = page(count, limit, before)
    found = [state.get(history.state_key(s)) for s in seqs]
    above = history.keys_above(seqs, found, count)
    found_above = [state.get(history.state_key(s)) for s in above]
    return [r["seq"] for r in history.page_records(seqs, found, above, found_above)], next_cursor


def test_a_call_of_250_records_is_kept_in_three_groups_keyed_by_their_newest():
    entries = history.grouped([_rec(s) for s in range(3, 253)])
    assert [key for key, _ in entries] == ["h:102", "h:202", "h:252"]
    assert [len(group["records"]) for _, group in entries] == [100, 100, 50]
    assert entries[0][1]["records"][0] == _rec(3)


def test_records_of_a_group_must_be_consecutive():
    with pytest.raises(AssertionError):
        history.grouped([_rec(1), _rec(3)])


def test_a_page_starting_inside_a_group_reads_the_keys_above_it():
    state, count = _state([2, 250, 1], [False, True, False])
    seqs, _ = page(count, 3, 150)
    found = [state.get(history.state_key(s)) for s in seqs]
    assert found == [None, None, None]
    assert history.keys_above(seqs, found, count) == list(range(150, 249))
    assert _read_page(state, count, 3, 150) == ([149, 148, 147], 147)


def test_a_page_whose_newest_record_has_its_key_reads_nothing_more():
    state, count = _state([2, 250, 1], [False, True, False])
    seqs, _ = page(count, 5, None)
    assert history.keys_above(seqs, [state.get(history.state_key(s)) for s in seqs], count) == []


def test_a_record_in_no_entry_is_an_inconsistency_not_a_short_page():
    state, count = _state([5], [True])
    del state["h:5"]
    with pytest.raises(AssertionError, match="found in no entry"):
        _read_page(state, count, 5, None)


@given(calls=st.lists(st.tuples(st.integers(1, 260), st.booleans()), max_size=12),
       limit=st.integers(1, MAX_PAGE), start=st.none() | st.integers(1, 3200))
def test_pages_of_grouped_and_single_records_give_every_record_once_newest_first(calls, limit, start):
    """The oracle is the numbering alone: n records are 1..n, whichever way kept."""
    state, count = _state([n for n, _ in calls], [g for _, g in calls])
    visited, before = [], start
    for _ in range(count + 1):
        seqs, before = _read_page(state, count, limit, before)
        visited += seqs
        if before is None:
            break
    newest = count if start is None else min(start - 1, count)
    assert visited == list(range(newest, 0, -1))
