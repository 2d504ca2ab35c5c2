"""The Redis keys of one write queue: arq's own, the version counter, the pending writes.

Everything but arq's job keys is named after the queue, so producers and
workers of one queue share them and two queues never see each other's writes.
(Dead letters included: `chatmem stats` and `chatmem dlq` find them by name.)
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import abort_jobs_ss, in_progress_key_prefix, job_key_prefix, retry_key_prefix


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """Key names derived from a queue name (QUEUE_NAME)."""

    queue: str

    @property
    def version_counter(self) -> str:
        """The last version handed out (a string holding an integer)."""
        return f"{self.queue}:version"

    @property
    def pending_namespaces(self) -> str:
        """Sorted set (all scores 0, ordered by text) of namespaces with pending writes."""
        return f"{self.queue}:pending"

    def pending_entries(self, namespace_text: str) -> str:
        """Hash of key -> "<version> <op JSON>": writes queued but not yet committed.

        The version leads so the compare-and-delete after a commit reads it
        without decoding the JSON.
        """
        return f"{self.queue}:pending:{namespace_text}"

    @property
    def dead_letters(self) -> str:
        """Stream of the writes the workers gave up on, until replayed or purged."""
        return f"{self.queue}:dead-letters"

    @staticmethod
    def job(job_id: str) -> str:
        """arq's key holding a job's serialized envelope."""
        return job_key_prefix + job_id

    @staticmethod
    def in_progress(job_id: str) -> str:
        """arq's key marking a job as running on some worker."""
        return in_progress_key_prefix + job_id

    @staticmethod
    def retry(job_id: str) -> str:
        """arq's key counting a job's tries."""
        return retry_key_prefix + job_id

    @staticmethod
    def aborted() -> str:
        """arq's sorted set of jobs asked to abort (shared by every queue)."""
        return abort_jobs_ss
