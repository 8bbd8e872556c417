"""The code version a run was made with: the git commit and whether the work tree had uncommitted changes.

Never raises: outside a git checkout, without git, or when git hangs past the timeout, the fields are None
(MLflow's own `mlflow.source.git.commit` needs gitpython and a repository working directory; this does not).
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hyperliquid_assets.settings import PROJECT_ROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeVersion:
    git_sha: str | None
    dirty: bool | None

    def __str__(self) -> str:
        if self.git_sha is None:
            return "unknown"
        return self.git_sha + ("-dirty" if self.dirty else "")


def _git(repo: Path, args: list[str], timeout_s: float) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git %s failed: %s", " ".join(args), exc)
        return None
    return done.stdout if done.returncode == 0 else None


def git_code_version(repo: Path | str = PROJECT_ROOT, timeout_s: float = 5.0) -> CodeVersion:
    """HEAD's sha and the dirty flag (tracked files modified or staged; untracked files do not count)."""
    try:
        sha = _git(Path(repo), ["rev-parse", "HEAD"], timeout_s)
        if not sha:
            return CodeVersion(None, None)
        status = _git(Path(repo), ["status", "--porcelain", "--untracked-files=no"], timeout_s)
        return CodeVersion(sha.strip(), None if status is None else bool(status.strip()))
    except Exception as exc:  # noqa: BLE001 - provenance is best effort; it must never fail a run
        log.debug("code version unavailable: %s", exc)
        return CodeVersion(None, None)
