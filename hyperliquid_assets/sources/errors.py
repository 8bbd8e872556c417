"""How fetching an upstream object can fail. A missing object is not an error: sources return None for it."""


class SourceError(RuntimeError):
    def __init__(self, uri: str, problem: str) -> None:
        super().__init__(f"{uri}: {problem}")
        self.uri = uri
        self.problem = problem


class TransientSourceError(SourceError):
    """Worth another attempt: 5xx, throttling, timeouts, resets, a body cut short, a checksum mismatch."""


class PermanentSourceError(SourceError):
    """Will not get better by retrying: access denied, bad request, or retries exhausted."""
