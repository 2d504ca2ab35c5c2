"""Short-term memory: the Redis checkpointer and the checkpointer repository on it."""

from infra.checkpointers.keys import DEFAULT_KEY_PREFIX
from infra.checkpointers.repository import RedisCheckpointerRepository
from infra.checkpointers.saver import RedisCheckpointSaver
from infra.checkpointers.store import DeltaThreadsError

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "DeltaThreadsError",
    "RedisCheckpointSaver",
    "RedisCheckpointerRepository",
]
