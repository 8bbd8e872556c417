"""Errors for upstream objects that cannot be turned into clean tables; each names the object."""


class CorruptObjectError(ValueError):
    """An upstream object's bytes are not what its format promises (truncated, malformed, empty, wrong checksum)."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem

    def __reduce__(self):
        # Pickles with both fields, so the error survives the trip back from a worker process (worker_pool.py).
        return type(self), (self.source, self.problem)
