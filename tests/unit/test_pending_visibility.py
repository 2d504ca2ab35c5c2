from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.models import StoreWrite
from infra.stores.pending import is_live


def test_an_expired_pending_put_and_a_delete_leave_nothing_visible() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    put = StoreWrite("put", ("ns",), "k", {}, 1.0, 1, now - timedelta(seconds=30))
    assert is_live(put, now)
    assert not is_live(put, now + timedelta(minutes=1))
    assert not is_live(StoreWrite("delete", ("ns",), "k", None, None, 2, now), now)
