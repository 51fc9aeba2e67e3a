"""Peak memory of heavy corpus cases, measured in a process of their own.

``python -m tests.core.corpus.probe DIR VALID [DIR VALID ...]`` validates each directory
in turn (rendering and planning those that must be valid), and prints one JSON line per
directory: its exit code, seconds, and the process's peak resident memory so far
(``ru_maxrss`` only grows, so the last line bounds them all). Called by
``tests/core/test_bad_input_corpus.py``.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from tests.core.corpus.running import render_and_plan, run_validate


def main(arguments: list[str]) -> int:
    for directory, valid in zip(arguments[::2], arguments[1::2], strict=True):
        outcome = run_validate(Path(directory))
        if valid == "valid" and outcome.code == 0:
            render_and_plan(Path(directory))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        row = {"dir": directory, "code": outcome.code, "seconds": outcome.seconds, "rss": peak}
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
