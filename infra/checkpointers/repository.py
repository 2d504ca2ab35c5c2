"""The checkpointer repository on Redis: short-term memory that really forgets when asked."""

from __future__ import annotations

from domain.repositories.checkpointers import BaseCheckpointerRepository
from infra.checkpointers.keys import DEFAULT_KEY_PREFIX
from infra.checkpointers.saver import RedisCheckpointSaver
from infra.redis_client import RedisClient
from infra.settings import Settings


class RedisCheckpointerRepository(BaseCheckpointerRepository):
    """Checkpoints in Redis through RedisCheckpointSaver; deleting one removes all its keys.

    The async methods work on the saver's loop; the sync ones (get_checkpoint,
    delete_checkpoint) only from another thread, as with any async saver.
    """

    def __init__(self, saver: RedisCheckpointSaver) -> None:
        self._saver = saver

    @classmethod
    def from_settings(
        cls, settings: Settings, client: RedisClient, *, key_prefix: str = DEFAULT_KEY_PREFIX
    ) -> RedisCheckpointerRepository:
        """A repository on ``client`` with the TTL of CHECKPOINT_TTL_MINUTES."""
        saver = RedisCheckpointSaver(
            client, ttl_minutes=settings.checkpoint_ttl_minutes, key_prefix=key_prefix
        )
        return cls(saver)

    @property
    def checkpointer(self) -> RedisCheckpointSaver:
        """The Redis saver."""
        return self._saver
