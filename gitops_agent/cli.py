"""Command line of gitops-agent: argument parsing and wiring only.

This is the one place that builds edges (targets, sources, reporters) and hands them to the
engine. Every ``GitOpsError`` is printed as a message, never as a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    print("gitops-agent: no commands yet", args, file=sys.stderr)
    return 1
