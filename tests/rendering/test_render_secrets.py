"""No secret value and no token reaches rendered output.

The agent never reads a secret's value: a projected secret becomes a reference to the
Kubernetes Secret (``secretKeyRef`` for env vars, a projected Secret item for files), no
Secret object is rendered, and tokens of the agent's environment are never written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_agent import cli
from gitops_agent.core.rendering import output
from tests.rendering.helpers import (
    CASES,
    bodies,
    render_case,
    render_files,
    render_sample,
    simple_worker,
)

TOKEN = "ghp_Zq8TOKENVALUEnot4output"
WEBHOOK = "whsec-DO-NOT-PRINT-1234"
SECRET_VALUE = "hunter2-Pa55w0rd!"

CONFIG = """\
name: prod
reporter:
  kind: github
  repository: team/manifests
  tokenEnv: GITOPS_TOKEN
server:
  webhookSecretEnv: GITOPS_WEBHOOK_SECRET
source:
  url: https://github.com/team/manifests.git
  tokenEnv: GITOPS_TOKEN
"""

WORKER = """\
version: v2alpha
name: uses-secrets
type: worker
spec:
  compute: runnable-default
  stack: container
  stackSpec:
    image: docker.io/library/alpine:3.20
  use:
    projection:
      secrets:
        - id: engineering:db
          contextAlias: db
      projections:
        envVarsTemplate: |
          DB_USER: "{{ secrets['db'].username | base64_decode }}"
        envVars:
          - key: DB_PASSWORD
            template: "{{ secrets['db'].password }}"
        files:
          - name: password
            directory: /etc/db
            template: "{{ secrets['db'].password }}"
"""


def env_entries(body: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(body, dict):
        if isinstance(body.get("env"), list):
            found.extend(body["env"])
        for value in body.values():
            found.extend(env_entries(value))
    elif isinstance(body, list):
        for item in body:
            found.extend(env_entries(item))
    return found


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GITOPS_TOKEN", TOKEN)
    monkeypatch.setenv("GITOPS_WEBHOOK_SECRET", WEBHOOK)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    (tmp_path / "gitops-agent.yaml").write_text(CONFIG)
    (tmp_path / "worker.yaml").write_text(WORKER)
    return tmp_path


@pytest.mark.parametrize("form", ["yaml", "json"])
def test_tokens_of_the_environment_never_reach_render_output(
    repository: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["render", str(repository), "-o", form]) == 0
    captured = capsys.readouterr()
    for value in (TOKEN, WEBHOOK):
        assert value not in captured.out and value not in captured.err
    assert "uses-secrets" in captured.out


def test_secrets_become_references_to_the_secret(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["render", str(repository), "-o", "json"]) == 0
    objects = json.loads(capsys.readouterr().out)
    assert [obj["kind"] for obj in objects] == ["Deployment"]  # the only file is a secret
    [deployment] = objects
    env = env_entries(deployment)
    assert env == [
        {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "db", "key": "username"}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    ]
    [volume] = deployment["spec"]["template"]["spec"]["volumes"]
    source = {"secret": {"name": "db", "items": [{"key": "password", "path": "password"}]}}
    assert volume == {"name": "files", "projected": {"sources": [source]}}
    assert "secrets[" not in json.dumps(objects)


def test_a_secret_manifest_in_the_repository_is_refused_without_echoing_its_data(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repository / "secret.yaml").write_text(
        "version: v2alpha\nname: db\ntype: secret\nsecret:\n  type: key-value\n"
        f"  data:\n    password: {SECRET_VALUE}\n"
    )
    assert cli.main(["render", str(repository)]) == 1
    captured = capsys.readouterr()
    assert "type 'secret' is not managed by gitops-agent" in captured.out
    assert SECRET_VALUE not in captured.out + captured.err


def test_no_secret_object_and_no_service_account_token_in_any_fixture() -> None:
    rendered = [render_sample(), *(render_case(case) for case in CASES)]
    for result in rendered:
        for obj in result.objects():
            assert obj.key.kind != "Secret"
            text = output.to_yaml([obj])
            assert "secrets[" not in text and ".secrets." not in text
            if obj.key.kind in {"Deployment", "StatefulSet", "Job", "CronJob"}:
                assert '"automountServiceAccountToken":false' in json.dumps(
                    obj.body, separators=(",", ":")
                )


_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenant=_NAMES, secret=_NAMES, alias=_NAMES, key=_NAMES, env_name=_NAMES)
def test_a_secret_template_always_renders_as_a_reference(
    tenant: str, secret: str, alias: str, key: str, env_name: str
) -> None:
    extra = f"""\
    use:
      projection:
        secrets:
          - {{id: "{tenant}:{secret}", contextAlias: {alias}}}
        projections:
          envVars:
            - key: "{env_name.upper()}"
              template: "{{{{ secrets['{alias}'].{key} }}}}"
    """
    rendered = render_files({"w.yaml": simple_worker("w", extra)})
    [deployment] = bodies(rendered, "Deployment")
    [entry] = env_entries(deployment)
    assert entry == {
        "name": env_name.upper(),
        "valueFrom": {"secretKeyRef": {"name": secret, "key": key}},
    }
    assert "value" not in entry
