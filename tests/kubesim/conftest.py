"""Fixtures of the kubesim tests: the simulator and real kubernetes clients bound to it.

A new cluster has no ``public`` namespace; the manifests of these tests live there, so the
``kubesim`` fixture of this directory creates it first, as a user would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client, config, dynamic

from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.kubesim.kinds import NAMESPACES
from gitops_agent.testing.kubesim.objects import WriteOptions

TEST_NAMESPACE = "public"


@pytest.fixture
def kubesim(kubesim_config: SimConfig) -> Iterator[KubeSim]:
    """A started simulator with the tests' namespace; stopped after the test."""
    with KubeSim(kubesim_config) as sim:
        sim.objects.create(
            NAMESPACES,
            "",
            {"metadata": {"name": TEST_NAMESPACE}},
            WriteOptions(field_manager="kubectl-create"),
        )
        yield sim


@pytest.fixture
def api_client(kubesim: KubeSim) -> Iterator[client.ApiClient]:
    """A kubernetes ApiClient loaded from the simulator's kubeconfig; closed afterwards."""
    api = config.new_client_from_config(config_file=kubesim.kubeconfig)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def batch(api_client: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


@pytest.fixture
def dyn(api_client: client.ApiClient) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api_client)
