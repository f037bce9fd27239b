"""Process limits a load generator needs.

Every connected user holds a socket, so the default soft limit of 1,024 open
files caps a run at about a thousand users. We raise the soft limit to the hard
limit once, at start; if that is still not enough the HTTP client reports
`TooManyOpenFiles` per request and the runner says so once, in plain words.
"""

from __future__ import annotations

import resource

from horde.stats.store import MAX_ENDPOINTS, OTHER_NAME

__all__ = ["raise_open_files_limit", "OPEN_FILES_ADVICE", "TOO_MANY_NAMES_ADVICE"]

OPEN_FILES_ADVICE = (
    "the process ran out of open files (EMFILE); each user needs one socket. "
    "Raise the limit before starting horde (e.g. `ulimit -n 65536`), "
    "or spread the users over more processes (--processes)."
)


TOO_MANY_NAMES_ADVICE = (
    f"more than {MAX_ENDPOINTS:,} distinct request names: the rest are counted under "
    f"{OTHER_NAME!r}. Group generated URLs with name=, e.g. "
    "self.client.get(f\"/items/{id}\", name=\"/items/[id]\")."
)


def raise_open_files_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        # Linux refuses an infinite soft limit for NOFILE; nr_open is the real ceiling.
        hard = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # keep the old limit; the EMFILE advice covers the rest
    return soft
