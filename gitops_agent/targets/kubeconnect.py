"""Connecting to the API server: a kubeconfig, or the pod's service account in a cluster.

``connect`` builds the kubernetes client's ``ApiClient`` (urllib3's own retries off:
``kubeapi.KubeApi`` retries within a budget), with the agent's User-Agent
(``gitops-agent/<version>``, and the pod's name). In a cluster (``target.inCluster``) the
client's ``InClusterConfigLoader`` reads ``KUBERNETES_SERVICE_HOST``/``_PORT`` and the CA;
the token is a ``serviceaccount.TokenFile``, consulted before every request. A configuration
it cannot use is a ConfigError saying what to do. Called by ``wiring`` (through
``kubeapi.connect``).
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import yaml
from kubernetes import client as kube
from kubernetes import config as kube_config
from kubernetes.config.incluster_config import InClusterConfigLoader

from gitops_agent.core import labels
from gitops_agent.errors import ConfigError
from gitops_agent.targets.serviceaccount import TokenFile, service_account_files


def connect(
    *, kubeconfig: str | None, context: str | None, in_cluster: bool, origin: str = ""
) -> kube.ApiClient:
    """An API client from a kubeconfig (``KUBECONFIG`` or the default) or the pod's account;
    urllib3 does not retry on its own (``KubeApi`` does, within a budget). ``origin`` says
    where the kubeconfig choice came from, for the message when it cannot be read."""
    configuration = kube.Configuration()
    try:
        if in_cluster:
            _load_in_cluster(configuration)
        else:
            kube_config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
    except _CONFIG_ERRORS as err:
        raise ConfigError(_config_problem(err, kubeconfig, origin, context, in_cluster)) from None
    configuration.retries = False
    client = kube.ApiClient(configuration)
    client.user_agent = user_agent()
    return client


def user_agent() -> str:
    """``gitops-agent/<version>``, with the pod's name when it has one (``POD_NAME``), so
    that an audit log tells the replicas apart."""
    pod = os.environ.get("POD_NAME", "")
    suffix = f" pod/{pod}" if pod and pod.isprintable() and len(pod) <= 253 else ""
    return f"{labels.MANAGER}/{_version()}{suffix}"


def _version() -> str:
    try:
        return importlib.metadata.version("gitops-agent")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def _load_in_cluster(configuration: kube.Configuration) -> None:
    """The pod's API server address (``KUBERNETES_SERVICE_HOST``/``_PORT``), CA and token,
    through the client's own loader; the token is then ours to keep fresh (``TokenFile``:
    looked at before every request instead of the loader's once a minute)."""
    files = service_account_files()
    token = TokenFile(files.token)
    loader = InClusterConfigLoader(
        token_filename=str(files.token), cert_filename=str(files.ca), try_refresh_token=False
    )
    loader.load_and_set(configuration)
    configuration.api_key["BearerToken"] = token.header
    configuration.refresh_api_key_hook = token  # type: ignore[assignment]  # typed None upstream


#: What the client raises on a kubeconfig it cannot use (broken YAML, missing keys...).
_CONFIG_ERRORS = (
    kube_config.ConfigException,
    OSError,
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    yaml.YAMLError,
)


def _config_problem(
    err: BaseException, kubeconfig: str | None, origin: str, context: str | None, in_cluster: bool
) -> str:
    if in_cluster:
        return (
            f"cannot use the pod's service account (target.inCluster): {_first_line(err)}; "
            "run inside a pod, or set target.inCluster: false and pass --kubeconfig"
        )
    if kubeconfig and not Path(kubeconfig).exists():
        err = FileNotFoundError("no such file")
    where = kubeconfig or "the default kubeconfig"
    if origin:
        where = f"{where} ({origin})" if kubeconfig else origin
    chosen = f" with context {context!r}" if context else ""
    return (
        f"cannot load the Kubernetes configuration {where}{chosen}: {_first_line(err)}; "
        "pass --kubeconfig FILE (and --context NAME), or set KUBECONFIG"
    )


def _first_line(err: BaseException) -> str:
    """The client's complaint on one line, bounded."""
    text = " ".join(str(err).split()) or type(err).__name__
    prefix = "not valid YAML: " if isinstance(err, yaml.YAMLError) else ""
    return (prefix + text)[:300]
