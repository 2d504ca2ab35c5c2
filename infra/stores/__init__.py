"""Long-term memory stores: PostgreSQL, and the queued (write-behind) store."""

from infra.stores.postgres import PostgresStore
from infra.stores.queued import QueuedStore
from infra.stores.repository import PostgresStoreRepository, QueuedStoreRepository

__all__ = ["PostgresStore", "PostgresStoreRepository", "QueuedStore", "QueuedStoreRepository"]
