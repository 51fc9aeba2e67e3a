"""Shared fixtures: paths of the project's fixture trees and the sample repository."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["gitops_agent.testing.kubesim.pytest_plugin"]

PROJECT = Path(__file__).resolve().parent.parent
FIXTURES = PROJECT / "tests" / "fixtures"
SAMPLE_REPO = PROJECT / "sample-repo"


@pytest.fixture
def sample_repo() -> Path:
    return SAMPLE_REPO
