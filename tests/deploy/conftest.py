"""The deploy tests' cluster: kubesim with authentication, RBAC and HTTPS on, as a real
cluster (the agent's in-cluster path talks TLS to it with a ServiceAccount token)."""

from __future__ import annotations

import dataclasses

import pytest

from gitops_agent.testing.kubesim.pytest_plugin import FAST
from gitops_agent.testing.kubesim.simulator import SimConfig


@pytest.fixture
def kubesim_config() -> SimConfig:
    return dataclasses.replace(FAST, auth=True, tls=True)
