"""How long a failed job waits before its next attempt: exponential, capped, with jitter.

The jitter (up to +25%) spreads retries of jobs that failed together (a provider outage) so they do not
all come back in the same instant.
"""

from __future__ import annotations

import random


def retry_delay(attempt: int, *, base_s: float, max_s: float, rand: random.Random | None = None) -> float:
    """Seconds before attempt ``attempt + 1``, after attempt ``attempt`` (counting from 1) failed."""
    exponential = min(max_s, base_s * 2 ** (attempt - 1))
    return min(max_s, exponential * (1 + 0.25 * (rand or random).random()))
