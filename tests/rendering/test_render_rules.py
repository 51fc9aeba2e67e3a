"""The validation rules rendering relies on: what cannot be rendered fails ``validate``."""

from __future__ import annotations

import pytest

from gitops_agent.core import validation
from gitops_agent.core.config import parse_config
from gitops_agent.core.rendering import kubernetes, workers
from gitops_agent.core.rendering.objects import RenderError
from gitops_agent.errors import ConfigError
from tests.rendering.helpers import (
    CONTAINER,
    evaluate,
    messages,
    render_files,
    simple_worker,
    step,
    worker,
    workflow,
)


def env_worker(template: str) -> dict[str, str]:
    spec = f"""
        compute: runnable-default
        {CONTAINER.replace(chr(10), chr(10) + "        ")}
        use:
          projection:
            projections:
              envVars:
                - key: VALUE
                  template: "{template}"
        """
    return {"w.yaml": worker("w", spec)}


def test_known_context_keys_are_accepted() -> None:
    files = env_worker("${{worker-name}} ${{resource-name}} ${{workspace}} ${{dataos-fqdn}}")
    assert messages(files) == []


@pytest.mark.parametrize("key", ["tenant", "step-name", "workflow-name", "worker_name"])
def test_unknown_context_key_in_a_worker_is_a_violation(key: str) -> None:
    found = messages(env_worker("x ${{" + key + "}}"))
    assert len(found) == 1
    assert f"unknown placeholder ${{{{{key}}}}} in a worker" in found[0]
    assert "${{worker-name}}" in found[0] and "${{namespace}}" in found[0]
    assert found[0].startswith("w.yaml:16:")


def test_unknown_context_key_in_files_and_env_template_is_located() -> None:
    spec = (
        "compute: runnable-default\n"
        + CONTAINER
        + """\
use:
  projection:
    projections:
      envVarsTemplate: |
        A: ${{nope}}
      files:
        - name: f.txt
          directory: /etc/f
          template: "${{worker-name}} ${{also-nope}}"
"""
    )
    found = messages({"w.yaml": worker("w", spec)})
    assert len(found) == 2
    assert "${{nope}}" in found[0] and found[0].startswith("w.yaml:13:")
    assert "${{also-nope}}" in found[1] and found[1].startswith("w.yaml:18:")


def test_a_workflow_step_has_step_and_workflow_keys_but_not_worker_name() -> None:
    extra = """\
    use:
      projection:
        projections:
          envVars:
            - {key: A, template: "${{workflow-name}}/${{step-name}}"}
            - {key: B, template: "${{worker-name}}"}
    """
    found = messages({"wf.yaml": workflow("wf", "dag:\n" + step("s", extra=extra))})
    assert len(found) == 1 and "${{worker-name}} in a workflow" in found[0]


def test_a_scheduled_workflow_with_two_steps_is_a_violation() -> None:
    body = 'schedule:\n  crons: ["0 * * * *"]\ndag:\n' + step("a") + step("b", depends="a")
    found = messages({"wf.yaml": workflow("wf", body)})
    assert len(found) == 1
    assert "a scheduled Workflow has exactly one step for now (this one has 2)" in found[0]


def test_a_scheduled_workflow_with_two_crons_is_a_violation() -> None:
    body = 'schedule:\n  crons: ["0 * * * *", "30 * * * *"]\ndag:\n' + step("a")
    found = messages({"wf.yaml": workflow("wf", body)})
    assert len(found) == 1 and "one cron for now" in found[0]


def test_end_on_must_be_an_iso_time() -> None:
    body = 'schedule:\n  crons: ["0 * * * *"]\n  endOn: next tuesday\ndag:\n' + step("a")
    found = messages({"wf.yaml": workflow("wf", body)})
    assert len(found) == 1 and "endOn 'next tuesday' is not an ISO-8601 time" in found[0]


def test_a_job_name_longer_than_63_characters_is_a_violation() -> None:
    name, fits, too_long = "w" * 30, "s" * 23, "s" * 24
    assert len(f"{name}-{fits}-12345678") == 63
    assert messages({"wf.yaml": workflow(name, "dag:\n" + step(fits))}) == []
    found = messages({"wf.yaml": workflow(name, "dag:\n" + step(too_long))})
    assert len(found) == 1
    assert "64 characters here; Kubernetes allows 63" in found[0]
    assert "shorten the workflow or step name by 1" in found[0]


def test_a_scheduled_workflow_is_named_without_a_hash_so_long_names_fit() -> None:
    body = 'schedule:\n  crons: ["0 * * * *"]\ndag:\n' + step("s" * 40)
    assert messages({"wf.yaml": workflow("w" * 48, body)}) == []


def test_a_stateful_worker_name_must_start_with_a_letter() -> None:
    disk = "replicas: 2\ndisk:\n  size: 1Gi\n"
    found = messages({"w.yaml": simple_worker("7up", disk)})
    assert len(found) == 1 and "a Service name must start with a letter" in found[0]
    assert messages({"w.yaml": simple_worker("7up", disk.replace("2", "1"))}) == []


def secret_worker(secret_id: str, template: str) -> dict[str, str]:
    extra = f"""\
use:
  projection:
    secrets:
      - id: "{secret_id}"
        contextAlias: s
    projections:
      envVars:
        - key: V
          template: "{template}"
"""
    return {"w.yaml": simple_worker("w", extra)}


@pytest.mark.parametrize("secret_id", ["team:db-creds", "db-creds", "a:b.c"])
def test_valid_secret_ids(secret_id: str) -> None:
    assert messages(secret_worker(secret_id, "{{ secrets['s'].password }}")) == []


@pytest.mark.parametrize("secret_id", ["team:DB", "a:b:c", ":db", "team:db_creds", "team:"])
def test_secret_ids_kubernetes_cannot_name_are_violations(secret_id: str) -> None:
    found = messages(secret_worker(secret_id, "{{ secrets['s'].password }}"))
    assert len(found) == 1 and "must be 'tenant:name' or 'name'" in found[0]


def test_a_secret_key_kubernetes_cannot_name_is_a_violation() -> None:
    found = messages(secret_worker("db", "{{ secrets['s']['a/b'] }}"))
    assert len(found) == 1 and "secret key 'a/b' may hold only" in found[0]


FASTFUN = """\
compute: runnable-default
stack: fastfun
stackSpec:
  input: {datasets: ["dataos://systemstreams:audit/t"]}
  output: {datasets: ["dataos://lakehouse:sys/t"]}
"""


def test_fastfun_needs_an_image_from_the_configuration() -> None:
    found = messages({"w.yaml": worker("w", FASTFUN)})
    assert len(found) == 1
    assert "set target.stacks.fastfun.image in gitops-agent.yaml" in found[0]
    config = "target:\n  stacks:\n    fastfun:\n      image: registry.local/fastfun:2\n"
    assert messages({"w.yaml": worker("w", FASTFUN)}, config) == []


def test_a_configured_stack_keeps_the_builtin_schema() -> None:
    config = "target:\n  stacks:\n    fastfun:\n      image: registry.local/fastfun:2\n"
    spec = FASTFUN.replace("output:", "outptu:")
    found = messages({"w.yaml": worker("w", spec)}, config)
    assert any("fastfun stack" in message and "outptu" in message for message in found)


def test_a_configured_stack_schema_checks_stack_spec() -> None:
    config = """\
    target:
      stacks:
        job:
          image: registry.local/job:1
          schema: {type: object, required: [module], additionalProperties: false,
                   properties: {module: {type: string}}}
    """
    good = "compute: runnable-default\nstack: job\nstackSpec: {module: m}\n"
    assert messages({"w.yaml": worker("w", good)}, config) == []
    found = messages({"w.yaml": worker("w", good.replace("{module: m}", "{modul: m}"))}, config)
    assert any("missing required field 'module'" in message for message in found)


def test_stack_arguments_must_use_keys_of_the_resource_type() -> None:
    config = """\
    target:
      stacks:
        job:
          image: registry.local/job:1
          arguments: ["--step", "${{step-name}}"]
    """
    spec = "compute: runnable-default\nstack: job\nstackSpec: {}\n"
    found = messages({"w.yaml": worker("w", spec)}, config)
    assert len(found) == 1 and "uses ${{step-name}}, which a worker does not have" in found[0]
    steps = "dag:\n- name: s\n  spec:\n    compute: runnable-default\n    stack: job\n"
    assert messages({"wf.yaml": workflow("wf", steps + "    stackSpec: {}\n")}, config) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("job: {image: x, schema: {type: nonsense}}", "target.stacks.job.schema: not a valid"),
        ("job: {image: x, configFile: etc/job.yaml}", "normalized absolute file path"),
        ("job: {image: x, configFile: /etc/../job.yaml}", "normalized absolute file path"),
        ("job: {image: x, configFile: '/etc/job:1.yaml'}", "may hold only letters"),
        ("job: {image: x, arguments: ['${{tenant}}']}", "unknown placeholder ${{tenant}}"),
        ("container: {image: x}", "only 'schema' may be set"),
        ("job: {image: x, schema: {$ref: 'urn:x:y'}}", "$ref 'urn:x:y' leaves the schema"),
        ("job: {image: x, schema: {$ref: 'https://h.invalid/s.json'}}", "leaves the schema"),
        ("job: {image: x, schema: {$ref: 'urn:gitops-agent:worker'}}", "leaves the schema"),
        ("job: {image: x, schema: {$ref: 'other.json#/a'}}", "leaves the schema"),
        ("job: {image: x, schema: {$ref: '#/$defs/none'}}", "points at nothing in the schema"),
        ("job: {image: x, schema: {$id: 'urn:x', type: object}}", "$id is not allowed"),
        ("job: {image: x, schema: {$dynamicRef: '#meta'}}", "$dynamicRef is not allowed"),
        (
            "job: {image: x, schema: {properties: {a: {allOf: [{$ref: 'urn:x'}]}}}}",
            "schema.properties.a.allOf[0]: $ref 'urn:x' leaves the schema",
        ),
    ],
)
def test_bad_stack_configuration_is_a_config_error(config: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(f"target:\n  stacks:\n    {config}\n", "gitops-agent.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("gitops-agent.yaml:3:5: ")


def test_a_stack_schema_may_refer_to_its_own_parts() -> None:
    config = """\
    target:
      stacks:
        job:
          image: registry.local/job:1
          schema:
            type: object
            properties: {port: {$ref: '#/$defs/port'}, $ref: {type: string}}
            $defs: {port: {type: integer, enum: [{$ref: 'not a reference'}, 80]}}
    """
    spec = "compute: runnable-default\nstack: job\nstackSpec: {port: 80}\n"
    assert messages({"w.yaml": worker("w", spec)}, config) == []
    found = messages({"w.yaml": worker("w", spec.replace("80", "'80'"))}, config)
    assert any("must be an integer" in message for message in found)


def test_a_stack_schema_that_refers_to_itself_without_end_is_a_violation() -> None:
    config = "target:\n  stacks:\n    job:\n      image: x\n      schema: {$ref: '#'}\n"
    spec = "compute: runnable-default\nstack: job\nstackSpec: {}\n"
    found = messages({"w.yaml": worker("w", spec)}, config)
    assert len(found) == 1 and "refers to itself without end" in found[0]


def test_a_workspace_must_map_to_a_valid_namespace() -> None:
    with pytest.raises(ConfigError, match="Team_A"):
        parse_config("target:\n  workspaces:\n    a: Team_A\n", "gitops-agent.yaml")


MOUNT = """\
use:
  volumes:
    - name: data
      directory: {directory}
{sub_path}"""


@pytest.mark.parametrize(
    ("directory", "sub_path", "expected"),
    [
        ("/data/", "", "write '/data'"),
        ("/data/../etc", "", "write '/etc'"),
        ("/data/./x", "", "write '/data/x'"),
        ("//data", "", "normalized absolute path"),
        ("/", "", "would hide the whole file system"),
        ("/data", "      subPath: ../escape", "relative path inside the volume"),
        ("/data", "      subPath: /abs", "relative path inside the volume"),
        ("/data", "      subPath: a//b", "relative path inside the volume"),
    ],
)
def test_mount_paths_must_be_normalized_and_stay_inside(
    directory: str, sub_path: str, expected: str
) -> None:
    extra = MOUNT.format(directory=directory, sub_path=sub_path + "\n" if sub_path else "")
    found = messages({"w.yaml": simple_worker("w", extra)})
    assert len(found) == 1 and expected in found[0], found


def test_disk_directory_must_be_normalized() -> None:
    found = messages({"w.yaml": simple_worker("w", "disk:\n  size: 1Gi\n  directory: /data/\n")})
    assert len(found) == 1 and "write '/data'" in found[0]


def test_a_disk_may_not_hide_a_stack_configuration_file() -> None:
    bento = "compute: runnable-default\nstack: bento\nstackSpec:\n  input: {}\n  output: {}\n"
    disk = "disk:\n  size: 1Gi\n  directory: /etc/dataos/config\n"
    found = messages({"w.yaml": worker("w", bento + disk)})
    assert len(found) == 1 and "holds the bento stack's configuration file" in found[0]
    assert found[0].startswith("w.yaml:12:")


def test_files_may_not_hide_a_stack_configuration_file() -> None:
    files = """\
use:
  projection:
    projections:
      files:
        - {name: x.yaml, directory: /etc/dataos/config, template: x}
"""
    bento = "compute: runnable-default\nstack: bento\nstackSpec:\n  input: {}\n  output: {}\n"
    found = messages({"w.yaml": worker("w", bento + files)})
    assert len(found) == 1
    assert "holds the bento stack's configuration file" in found[0]
    assert messages({"w.yaml": simple_worker("w", files)}) == []


def test_execution_modes_and_strategies_agree() -> None:
    assert set(validation.EXECUTION_MODES) == set(workers.STRATEGIES)


def test_objects_of_two_resources_may_not_share_a_name() -> None:
    files = {
        "a.yaml": simple_worker("same").replace("type: worker", "type: worker\nworkspace: a"),
        "b.yaml": simple_worker("same").replace("type: worker", "type: worker\nworkspace: b"),
    }
    config = "target:\n  workspaces: {a: shared, b: shared}\n"
    result = evaluate(files, config)
    [violation] = result.violations  # validate refuses what render would refuse
    assert violation.path == "b.yaml" and violation.rule == "collision"
    assert "Deployment/shared/same would also be written for worker/a/same (a.yaml)" in (
        violation.message
    )
    with pytest.raises(RenderError) as caught:
        kubernetes.render(result.resources, result.config.render_settings())
    assert caught.value.violations == result.violations
    assert render_files(files)  # without the mapping each workspace has its own namespace
