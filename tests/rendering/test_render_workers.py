"""Workers on Kubernetes: Deployment, StatefulSet, disk, volumes, stacks and metadata."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from gitops_agent.core import labels
from gitops_agent.core.rendering import projections
from gitops_agent.core.rendering.objects import RenderedWorker
from tests.rendering.helpers import (
    REVISION,
    bodies,
    container,
    one,
    pod_spec,
    render_files,
    simple_worker,
    worker,
)


def test_a_worker_is_a_deployment_with_owner_labels_and_annotations() -> None:
    rendered = render_files({"w/one.yaml": simple_worker("one")}, "name: prod-eu\n")
    [result] = rendered.resources
    assert isinstance(result, RenderedWorker)
    assert str(result.workload) == "Deployment/public/one"
    body = one(rendered, "Deployment")
    assert body["metadata"]["labels"] == {
        labels.MANAGED_BY: "gitops-agent",
        labels.OWNER: "prod-eu",
        labels.RESOURCE_TYPE: "worker",
        labels.RESOURCE_NAME: "one",
        labels.WORKSPACE: "public",
    }
    annotations = body["metadata"]["annotations"]
    assert annotations[labels.REVISION] == REVISION
    assert annotations[labels.SOURCE_FILE] == "w/one.yaml"
    assert body["spec"]["replicas"] == 1
    pod_labels = dict(body["spec"]["template"]["metadata"]["labels"])
    digest = pod_labels.pop(labels.TEMPLATE)
    assert pod_labels == body["metadata"]["labels"] and len(digest) == 16
    assert body["spec"]["strategy"]["type"] == "RollingUpdate"


def test_the_template_digest_follows_the_template_not_the_revision() -> None:
    def digest(files: dict[str, str], revision: str = REVISION) -> str:
        body = one(render_files(files, revision=revision), "Deployment")
        return str(body["spec"]["template"]["metadata"]["labels"][labels.TEMPLATE])

    first = digest({"w.yaml": simple_worker("w")}, "a" * 40)
    assert digest({"w.yaml": simple_worker("w")}, "b" * 40) == first
    assert digest({"w.yaml": simple_worker("w", "replicas: 2\n")}) == first, "not in the template"
    image = simple_worker("w").replace("alpine:3.20", "alpine:3.21")
    assert image != simple_worker("w") and digest({"w.yaml": image}) != first


def test_bundle_members_carry_the_bundle_label() -> None:
    bundle = """\
    version: v2alpha
    name: group
    type: bundle
    bundle:
      resources:
        - id: member
          file: member.yaml
    """
    rendered = render_files({"bundle.yaml": bundle, "member.yaml": simple_worker("member")})
    body = one(rendered, "Deployment")
    assert body["metadata"]["labels"][labels.BUNDLE] == "group"
    assert body["metadata"]["annotations"][labels.SOURCE_FILE] == "member.yaml"
    assert [str(r.id) for r in rendered.resources] == ["bundle/group", "worker/public/member"]


def test_the_content_hash_ignores_the_revision_but_not_the_content() -> None:
    files = {"w.yaml": simple_worker("w")}
    first = one(render_files(files, revision="a" * 40), "Deployment")
    second = one(render_files(files, revision="b" * 40), "Deployment")
    assert first["metadata"]["annotations"][labels.REVISION] == "a" * 40
    hashes = [b["metadata"]["annotations"][labels.CONTENT_HASH] for b in (first, second)]
    assert hashes[0] == hashes[1]
    changed = one(render_files({"w.yaml": simple_worker("w", "replicas: 2\n")}), "Deployment")
    assert changed["metadata"]["annotations"][labels.CONTENT_HASH] != hashes[0]


def test_quantities_are_written_in_canonical_form() -> None:
    extra = """\
    resources:
      requests: {cpu: 0.5, memory: 1024Mi}
      limits: {cpu: 1000m, memory: 1.5Gi}
    """
    body = one(render_files({"w.yaml": simple_worker("w", extra)}), "Deployment")
    assert container(body)["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "1536Mi"},
    }


def test_a_worker_without_resources_writes_none() -> None:
    body = one(render_files({"w.yaml": simple_worker("w")}), "Deployment")
    assert "resources" not in container(body)


def test_pods_get_no_service_links_and_no_service_account_token() -> None:
    spec = pod_spec(one(render_files({"w.yaml": simple_worker("w")}), "Deployment"))
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False


def test_disk_is_a_claim_named_for_the_worker_and_mounted() -> None:
    extra = "disk:\n  size: 2Gi\n  directory: /state\n"
    rendered = render_files({"w.yaml": simple_worker("w", extra)}, "target:\n  storageClass: ssd\n")
    claim = one(rendered, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "w-disk"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "2Gi"}},
        "storageClassName": "ssd",
    }
    deployment = one(rendered, "Deployment")
    assert pod_spec(deployment)["volumes"] == [
        {"name": "disk", "persistentVolumeClaim": {"claimName": "w-disk"}}
    ]
    assert container(deployment)["volumeMounts"] == [{"name": "disk", "mountPath": "/state"}]
    # one node at a time may hold a ReadWriteOnce disk: the old pod goes first
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_the_manifest_storage_class_wins_and_none_means_the_cluster_default() -> None:
    extra = "disk:\n  size: 1Gi\n  storageClass: nfs\n  accessMode: ReadWriteMany\n"
    rendered = render_files({"w.yaml": simple_worker("w", extra)}, "target:\n  storageClass: ssd\n")
    assert one(rendered, "PersistentVolumeClaim")["spec"]["storageClassName"] == "nfs"
    strategy = one(rendered, "Deployment")["spec"]["strategy"]["rollingUpdate"]
    assert strategy == {"maxSurge": "25%", "maxUnavailable": "25%"}
    plain = render_files({"w.yaml": simple_worker("w", "disk:\n  size: 1Gi\n")})
    assert "storageClassName" not in one(plain, "PersistentVolumeClaim")["spec"]


def test_disk_with_replicas_is_a_stateful_set_with_a_headless_service() -> None:
    extra = "replicas: 3\ndisk:\n  size: 5Gi\n"
    rendered = render_files({"w.yaml": simple_worker("shard", extra)})
    assert sorted(obj.key.kind for obj in rendered.objects()) == ["Service", "StatefulSet"]
    [result] = rendered.resources
    assert isinstance(result, RenderedWorker) and result.workload.kind == "StatefulSet"
    service, stateful_set = one(rendered, "Service"), one(rendered, "StatefulSet")
    assert service["spec"]["clusterIP"] == "None"
    assert "ports" not in service["spec"]
    assert stateful_set["spec"]["serviceName"] == service["metadata"]["name"] == "shard"
    selector = stateful_set["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    [template] = stateful_set["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "disk"
    assert template["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert "volumes" not in pod_spec(stateful_set)
    assert container(stateful_set)["volumeMounts"] == [{"name": "disk", "mountPath": "/data"}]
    policy = stateful_set["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Delete", "whenScaled": "Retain"}


def test_volumes_mount_existing_claims_once_per_claim() -> None:
    extra = """\
    use:
      volumes:
        - {name: shared, directory: /in, readOnly: true}
        - {name: shared, directory: /out, subPath: out}
        - {name: models, directory: /models}
    """
    body = one(render_files({"w.yaml": simple_worker("w", extra)}), "Deployment")
    assert pod_spec(body)["volumes"] == [
        {"name": "volume-1", "persistentVolumeClaim": {"claimName": "shared"}},
        {"name": "volume-2", "persistentVolumeClaim": {"claimName": "models"}},
    ]
    assert container(body)["volumeMounts"] == [
        {"name": "volume-1", "mountPath": "/in", "readOnly": True},
        {"name": "volume-1", "mountPath": "/out", "subPath": "out"},
        {"name": "volume-2", "mountPath": "/models"},
    ]


def test_compute_maps_to_scheduling_from_the_configuration() -> None:
    config = """\
    target:
      computes:
        gpu:
          nodeSelector: {pool: gpu}
          tolerations: [{key: gpu, operator: Exists, effect: NoSchedule}]
    """
    files = {"w.yaml": worker("w", "compute: gpu\nstack: container\nstackSpec: {image: x}\n")}
    spec = pod_spec(one(render_files(files, config), "Deployment"))
    assert spec["nodeSelector"] == {"pool": "gpu"}
    assert spec["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "affinity" not in spec
    anywhere = pod_spec(one(render_files({"w.yaml": simple_worker("w")}), "Deployment"))
    assert not {"nodeSelector", "tolerations", "affinity"} & set(anywhere)


def test_bento_writes_its_stack_spec_as_a_config_file() -> None:
    spec = """\
    compute: runnable-default
    stack: bento
    stackSpec:
      output: {stdout: {}}
      input: {generate: {mapping: 'root = "x"'}}
    """
    rendered = render_files({"w.yaml": worker("w", spec)})
    config_map = one(rendered, "ConfigMap")
    assert config_map["metadata"]["name"] == "w-stack"
    assert config_map["data"] == {
        "bento.yaml": 'input:\n  generate:\n    mapping: root = "x"\noutput:\n  stdout: {}\n'
    }
    deployment = one(rendered, "Deployment")
    assert container(deployment)["image"].startswith("ghcr.io/warpstreamlabs/bento:")
    assert container(deployment)["args"] == ["-c", "/etc/dataos/config/bento.yaml"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations[labels.CONFIG_HASH]) == 64


def test_changed_configuration_rolls_the_pods() -> None:
    def rendered_with(text: str) -> Mapping[str, str]:
        extra = f"""\
        use:
          projection:
            projections:
              files:
                - {{name: a.txt, directory: /etc/a, template: "{text}"}}
        """
        body = one(render_files({"w.yaml": simple_worker("w", extra)}), "Deployment")
        return body["spec"]["template"]["metadata"]["annotations"]

    assert rendered_with("one") != rendered_with("two")
    assert rendered_with("one") == rendered_with("one")


def kubernetes_expand(text: str, env: Mapping[str, str]) -> str:
    """What Kubernetes does to env values, commands and arguments (its ``expansion`` rules)."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "$" or index + 1 == len(text):
            out.append(char)
            index += 1
            continue
        following = text[index + 1]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "(" and ")" in text[index + 2 :]:
            end = text.index(")", index + 2)
            name = text[index + 2 : end]
            out.append(env.get(name, f"$({name})"))
            index = end + 1
        else:
            out.append("$" + following)
            index += 2
    return "".join(out)


def test_the_expansion_model_matches_the_kubernetes_documentation() -> None:
    env = {"VAR_NAME": "value"}
    assert kubernetes_expand("$(VAR_NAME)", env) == "value"
    assert kubernetes_expand("$$(VAR_NAME)", env) == "$(VAR_NAME)"
    assert kubernetes_expand("$(MISSING) $$ $HOME $", env) == "$(MISSING) $ $HOME $"


@given(st.text(alphabet="$()AB x", max_size=30))
def test_commands_and_env_reach_the_process_verbatim(text: str) -> None:
    env = {"A": "expanded", "B": "", "AB": "expanded"}
    assert kubernetes_expand(projections.escape(text), env) == text


def test_shell_text_in_arguments_survives_kubernetes_expansion() -> None:
    arguments = ["echo $(date) $$ $(HOME) $HOME"]
    spec = f"compute: runnable-default\nstack: container\nstackSpec:\n  image: x\n  arguments: {arguments}\n"
    body = one(render_files({"w.yaml": worker("w", spec)}), "Deployment")
    written = container(body)["args"]
    assert written == ["echo $$(date) $$$ $$(HOME) $HOME"]
    assert [kubernetes_expand(a, {"HOME": "/root"}) for a in written] == arguments


def test_every_object_of_a_worker_is_in_its_namespace() -> None:
    head = "workspace: sales\n"
    files = {
        "w.yaml": worker(
            "w",
            "compute: runnable-default\nreplicas: 2\ndisk: {size: 1Gi}\n" + _CONTAINER,
            head=head,
        )
    }
    rendered = render_files(files, "target:\n  workspaces: {sales: team-sales}\n")
    assert {b["metadata"]["namespace"] for b in bodies(rendered)} == {"team-sales"}
    assert {b["metadata"]["labels"][labels.WORKSPACE] for b in bodies(rendered)} == {"sales"}


_CONTAINER = "stack: container\nstackSpec: {image: x}\n"
