"""``python -m gitops_agent``: the same entry point as the ``gitops-agent`` console script."""

import sys

from gitops_agent.cli import main

sys.exit(main())
