"""Workflows on Kubernetes: a Job per step named by content, the step graph, CronJobs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gitops_agent.core import graph, labels
from gitops_agent.core.rendering import kubernetes
from gitops_agent.core.rendering.objects import RenderedWorkflow
from tests.rendering.helpers import (
    NOW,
    bodies,
    container,
    evaluate,
    one,
    pod_spec,
    render_files,
    step,
    workflow,
)

DIAMOND = (
    "dag:\n"
    + step("extract")
    + step("clean", depends="extract")
    + step("enrich", depends="extract")
    + step("load", depends="clean, enrich")
)


def rendered_workflow(body: str, config: str = "", *, revision: str = "") -> RenderedWorkflow:
    [result] = render_files({"wf.yaml": workflow("wf", body)}, config, revision=revision).resources
    assert isinstance(result, RenderedWorkflow)
    return result


def job_names(result: RenderedWorkflow) -> dict[str, str]:
    return {s.name: s.job.name for s in result.steps}


def test_each_step_is_a_job_and_the_step_graph_is_exposed() -> None:
    result = rendered_workflow(DIAMOND, "target:\n  jobBackoffLimit: 3\n")
    assert [s.name for s in result.steps] == ["extract", "clean", "enrich", "load"]
    assert result.depends() == {
        "extract": (),
        "clean": ("extract",),
        "enrich": ("extract",),
        "load": ("clean", "enrich"),
    }
    assert graph.waves(result.depends()) == [["extract"], ["clean", "enrich"], ["load"]]
    assert not result.scheduled
    for rendered_step in result.steps:
        [job] = [o.body for o in rendered_step.objects if o.key.kind == "Job"]
        assert rendered_step.job.name == job["metadata"]["name"]
        assert rendered_step.job.name.startswith(f"wf-{rendered_step.name}-")
        assert len(rendered_step.job.name) == len(f"wf-{rendered_step.name}-") + 8
        assert job["spec"]["backoffLimit"] == 3
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert job["metadata"]["labels"][labels.STEP] == rendered_step.name
        assert job["spec"]["template"]["metadata"]["labels"][labels.STEP] == rendered_step.name
        assert "ttlSecondsAfterFinished" not in job["spec"]


def test_the_default_backoff_limit_is_zero() -> None:
    result = rendered_workflow("dag:\n" + step("only"))
    [job] = result.steps[0].objects
    assert job.body["spec"]["backoffLimit"] == 0


def test_job_names_do_not_change_with_the_revision() -> None:
    assert job_names(rendered_workflow(DIAMOND, revision="a" * 40)) == job_names(
        rendered_workflow(DIAMOND, revision="b" * 40)
    )


def test_a_changed_step_gets_a_new_job_and_so_do_the_steps_after_it() -> None:
    before = job_names(rendered_workflow(DIAMOND))
    changed = DIAMOND.replace(
        "- name: clean\n  depends: [extract]\n  spec:\n    compute: runnable-default\n"
        "    stack: container\n    stackSpec:\n      image: alpine:3.20",
        "- name: clean\n  depends: [extract]\n  spec:\n    compute: runnable-default\n"
        "    stack: container\n    stackSpec:\n      image: alpine:3.21",
    )
    assert changed != DIAMOND
    after = job_names(rendered_workflow(changed))
    assert after["extract"] == before["extract"]
    assert after["enrich"] == before["enrich"]
    assert after["clean"] != before["clean"]
    assert after["load"] != before["load"]


def test_the_order_of_depends_does_not_rename_jobs() -> None:
    swapped = DIAMOND.replace("depends: [clean, enrich]", "depends: [enrich, clean]")
    assert swapped != DIAMOND
    assert job_names(rendered_workflow(swapped)) == job_names(rendered_workflow(DIAMOND))


def test_a_changed_file_gets_a_new_job_and_a_new_config_map() -> None:
    def render(text: str) -> tuple[str, list[str]]:
        extra = f"""\
        use:
          projection:
            projections:
              files:
                - {{name: run.py, directory: /etc/run, template: "{text}"}}
        """
        result = rendered_workflow("dag:\n" + step("run", extra=extra))
        objects = result.steps[0].objects
        maps = [o.key.name for o in objects if o.key.kind == "ConfigMap"]
        return result.steps[0].job.name, maps

    job_one, maps_one = render("print(1)")
    job_two, maps_two = render("print(2)")
    assert job_one != job_two
    assert maps_one == [f"{job_one}-files"] and maps_two == [f"{job_two}-files"]


def test_step_context_keys_fill_templates() -> None:
    extra = """\
    use:
      projection:
        projections:
          envVars:
            - {key: WHERE, template: "${{workflow-name}}/${{step-name}}@${{namespace}}"}
    """
    result = rendered_workflow(
        "dag:\n" + step("s", extra=extra), "target:\n  workspaces: {public: batch}\n"
    )
    [job] = result.steps[0].objects
    assert container(job.body)["env"] == [{"name": "WHERE", "value": "wf/s@batch"}]


SCHEDULED = """\
schedule:
  crons: ["30 2 * * *"]
  timezone: Europe/Berlin
  concurrencyPolicy: Forbid
  {end_on}
dag:
""" + step("nightly")


def test_a_scheduled_single_step_workflow_is_a_cron_job() -> None:
    result = rendered_workflow(SCHEDULED.format(end_on=""))
    assert result.scheduled
    [only] = result.steps
    assert only.job.kind == "CronJob" and only.job.name == "wf"
    [cron_job] = [o.body for o in only.objects]
    spec = cron_job["spec"]
    assert spec["schedule"] == "30 2 * * *"
    assert spec["timeZone"] == "Europe/Berlin"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert "suspend" not in spec
    job_template = spec["jobTemplate"]
    assert job_template["metadata"]["labels"][labels.STEP] == "nightly"
    assert pod_spec(cron_job)["restartPolicy"] == "Never"


@pytest.mark.parametrize(
    ("end_on", "now", "suspended"),
    [
        ("2029-12-31T23:00:00Z", NOW, True),
        # without an offset endOn is Berlin time, an hour ahead of UTC in January
        ("2030-01-01T00:30:00", NOW, True),
        ("2030-01-01T01:30:00", NOW, False),
        ("2030-01-01T01:30:00", datetime(2030, 1, 1, 0, 30, tzinfo=UTC), True),
        ("2031-01-01T00:00:00Z", NOW, False),
        ("2020-01-01T00:00:00Z", None, False),
    ],
)
def test_end_on_suspends_the_cron_job_once_passed(
    end_on: str, now: datetime | None, suspended: bool
) -> None:
    body = SCHEDULED.format(end_on=f'endOn: "{end_on}"')
    result = evaluate({"wf.yaml": workflow("wf", body)})
    assert result.violations == ()
    rendered = kubernetes.render(result.resources, result.config.render_settings(), now=now)
    cron_job = one(rendered, "CronJob")
    assert cron_job["spec"].get("suspend", False) is suspended
    assert cron_job["metadata"]["annotations"][labels.END_ON] == end_on


def test_render_needs_an_aware_time() -> None:
    result = evaluate({"wf.yaml": workflow("wf", SCHEDULED.format(end_on=""))})
    with pytest.raises(ValueError, match="aware"):
        kubernetes.render(
            result.resources, result.config.render_settings(), now=datetime(2030, 1, 1)
        )


def test_every_step_object_carries_the_workflow_labels() -> None:
    rendered = render_files({"wf.yaml": workflow("wf", DIAMOND)})
    for body in bodies(rendered):
        assert body["metadata"]["labels"][labels.RESOURCE_TYPE] == "workflow"
        assert body["metadata"]["labels"][labels.RESOURCE_NAME] == "wf"
