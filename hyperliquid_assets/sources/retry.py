"""Exponential backoff with full jitter around one fetch (AWS architecture blog, "Exponential Backoff and Jitter")."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from hyperliquid_assets.sources.errors import PermanentSourceError, TransientSourceError

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): uniform in [0, min(cap, base*2^(n-1))]."""
        return rng.uniform(0.0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))


def with_retries(
    fetch: Callable[[], T],
    policy: RetryPolicy,
    uri: str,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Call `fetch` until it returns or raises something other than TransientSourceError, at most max_attempts times."""
    rng = rng or random.Random()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return fetch()
        except TransientSourceError as exc:
            if attempt == policy.max_attempts:
                raise PermanentSourceError(uri, f"gave up after {attempt} attempts; last error: {exc.problem}") from exc
            wait = policy.delay(attempt, rng)
            log.warning("%s: attempt %d failed (%s); retrying in %.2f s", uri, attempt, exc.problem, wait)
            sleep(wait)
    raise AssertionError("unreachable")
