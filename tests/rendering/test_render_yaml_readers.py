"""Rendered YAML as other readers read it: a string that YAML 1.1 (PyYAML) writes plain but
YAML 1.2 (kubectl, Go) takes for a number is quoted, so ``render -o yaml | kubectl apply -f -``
keeps every label a string. Checked with kubectl itself (``create --dry-run=client`` against kubesim)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from gitops_agent.core.rendering.output import dump_yaml
from gitops_agent.testing.kubesim.simulator import KubeSim

AMBIGUOUS = ["51319791056660e3", "1e3", "-2E+4", ".5", "0o17", "0x1F", "12", "1.5", "007"]
PLAIN = ["e3", "abc1e3", "1e3x", "sha256-1", "v1.2", "1.2.3"]


@pytest.mark.parametrize("text", AMBIGUOUS + PLAIN)
def test_strings_stay_strings_for_yaml_1_2_readers(text: str) -> None:
    written = dump_yaml({"v": text})
    assert yaml.safe_load(written) == {"v": text}
    if text in AMBIGUOUS:
        assert written in (f"v: '{text}'\n", f"v: '{text}'\n".replace("'", '"')), written


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_reads_every_label_as_a_string(kubesim: KubeSim) -> None:
    labels = {f"k{i}": value for i, value in enumerate(AMBIGUOUS + PLAIN)}
    manifest = dump_yaml(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": labels}}
    )
    command = ["kubectl", "--kubeconfig", str(kubesim.kubeconfig), "create"]
    done = subprocess.run(
        [*command, "--dry-run=client", "-o", "json", "-f", "-"],
        input=manifest,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["metadata"]["labels"] == labels
