"""Golden tests: each fixture's manifests render to exactly its ``expected.yaml``.

To regenerate after an intended change, run
``GITOPS_AGENT_UPDATE_GOLDENS=1 .venv/bin/pytest tests/rendering -k golden`` and review the
diff; the variable is refused when ``CI`` is set, so CI always compares.
"""

from __future__ import annotations

import os

import pytest

from gitops_agent.core.rendering import output
from tests.rendering.helpers import CASES, FIXTURES, render_case

UPDATE = os.environ.get("GITOPS_AGENT_UPDATE_GOLDENS") == "1"


def test_there_is_a_fixture_for_every_feature() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        assert (FIXTURES / case / "expected.yaml").is_file(), f"{case} has no expected.yaml"


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    text = output.to_yaml(render_case(case).objects())
    golden = FIXTURES / case / "expected.yaml"
    if UPDATE:
        if os.environ.get("CI"):
            pytest.fail("GITOPS_AGENT_UPDATE_GOLDENS must never be set in CI")
        golden.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text
