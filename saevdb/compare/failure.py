"""A failed build, setting or serving as one line for its report row."""

from __future__ import annotations

import traceback


def _ours(frame) -> bool:
    """Whether a traceback frame runs this library's code (where a failure is worth naming)."""
    return str(frame.f_globals.get("__name__", "")).startswith("saevdb")


def failure(e: BaseException) -> str:
    """An exception as one line: its type, the last of this library's functions it passed, its text."""
    ours = [f.f_code.co_name for f, _ in traceback.walk_tb(e.__traceback__) if _ours(f)]
    where = f" in {ours[-1]}" if ours else ""
    return f"{type(e).__name__}{where}: {e}"
