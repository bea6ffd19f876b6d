"""The durable outgoing queue (SQLite), split by job.

- :mod:`.records`: recipient states, event kinds, priorities, the rows returned;
  :func:`submission_key`.
- :mod:`.commit`: the group-commit engine (work queued from the event loop, committed in
  batches in a worker thread; knows nothing of the schema).
- :mod:`.schema`: tables, migration of older spools, refusal of foreign files.
- :mod:`.queue`: :class:`SqliteSpool` (submit, claim, finish, defer, events).
- :mod:`.admin`: list, status, retry, purge, drop (mixed into :class:`SqliteSpool`).
- :mod:`.state`: the shaping state store, written behind without blocking the loop.

``from mailcheck.sending.spool import X`` keeps working for every name below.
"""

from __future__ import annotations

from mailcheck.sending.spool.commit import GROUP_DELAY, GROUP_MAX
from mailcheck.sending.spool.queue import SqliteSpool
from mailcheck.sending.spool.records import (
    BULK,
    FINAL_STATES,
    RETRY_STATES,
    STATES,
    TRANSACTIONAL,
    WAITING_STATES,
    EventKind,
    Job,
    RecipientRow,
    RecipientState,
    SpoolEvent,
    Submitted,
    submission_key,
)

__all__ = [
    "BULK",
    "FINAL_STATES",
    "GROUP_DELAY",
    "GROUP_MAX",
    "RETRY_STATES",
    "STATES",
    "TRANSACTIONAL",
    "WAITING_STATES",
    "EventKind",
    "Job",
    "RecipientRow",
    "RecipientState",
    "SpoolEvent",
    "SqliteSpool",
    "Submitted",
    "submission_key",
]
