"""Long-term memory stores: PostgreSQL, and the queued (write-behind) store."""

from infra.stores.postgres import PostgresStore
from infra.stores.repository import PostgresStoreRepository

__all__ = ["PostgresStore", "PostgresStoreRepository"]
