"""Kubernetes' command expansion (used by the local target) and the local path remapping."""

from __future__ import annotations

import pytest

from gitops_agent.core.expansion import expand
from gitops_agent.targets.local import remap


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("echo $$(date)", "echo $(date)"),
        ("$(NAME)-x", "value-x"),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("cost: $$5", "cost: $5"),
        ("$$$$", "$$"),
        ("trailing $", "trailing $"),
        ("$(unclosed", "$(unclosed"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, {"NAME": "value"}) == expected


def test_remap_whole_path_parts_only() -> None:
    mapping = [("/etc/verify", "/state/files/g/etc/verify"), ("/data", "/state/disks/public/w")]
    assert (
        remap("python3 /etc/verify/verify.py", mapping)
        == "python3 /state/files/g/etc/verify/verify.py"
    )
    assert remap("/data/reports", mapping) == "/state/disks/public/w/reports"
    assert remap('cat "/data"', mapping) == 'cat "/state/disks/public/w"'
    assert remap("/database /mydata /data2 x/data", mapping) == "/database /mydata /data2 x/data"
