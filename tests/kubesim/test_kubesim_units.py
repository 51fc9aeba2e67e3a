"""Pure parts of kubesim: quantities, selectors, cron schedules, field sets, logs."""

from __future__ import annotations

import datetime as dt

import pytest

from gitops_agent.testing.kubesim import errors, logs, quantities
from gitops_agent.testing.kubesim.cron import CronError, parse_schedule
from gitops_agent.testing.kubesim.fieldsets import from_fields_v1, path_string, to_fields_v1
from gitops_agent.testing.kubesim.selectors import field_predicate, label_predicate

# What a real API server writes back for each quantity (resource.Quantity canonical form).
CANONICAL = [
    ("0.5", "500m"),
    (0.5, "500m"),
    ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"),
    ("1000m", "1"),
    ("2000Mi", "2000Mi"),
    ("1e3", "1e3"),
    ("100M", "100M"),
    ("0.5Gi", "512Mi"),
    (1, "1"),
    ("1000", "1k"),
    ("1.5k", "1500"),
    ("0.1m", "100u"),
    ("1024", "1024"),
    ("1Ki", "1Ki"),
    ("250m", "250m"),
    ("2", "2"),
    ("0", "0"),
    ("1536Mi", "1536Mi"),
    ("1048576Ki", "1Gi"),
]


@pytest.mark.parametrize(("given", "stored"), CANONICAL)
def test_quantities_take_the_servers_canonical_form(given: str | float, stored: str) -> None:
    assert quantities.canonical(given) == stored


def test_bad_quantity_is_rejected() -> None:
    with pytest.raises(quantities.QuantityError):
        quantities.canonical("12 apples")


def test_label_selectors_equality_and_sets() -> None:
    obj = {"metadata": {"labels": {"app": "web", "tier": "front", "env": "prod"}}}
    for text, expected in [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app", True),
        ("!app", False),
        ("tier in (front,back)", True),
        ("tier notin (front)", False),
        ("app=web,env in (prod, staging),!canary", True),
        ("missing", False),
        ("missing notin (x)", True),
    ]:
        predicate = label_predicate(text)
        assert predicate is not None
        assert predicate(obj) is expected, text


def test_malformed_label_selector_is_a_bad_request() -> None:
    with pytest.raises(errors.ApiError) as caught:
        label_predicate("app in (a")
    assert caught.value.code == 400


def test_field_selectors_name_namespace_and_unsupported() -> None:
    obj = {"metadata": {"name": "a", "namespace": "public"}, "status": {"phase": "Running"}}
    predicate = field_predicate("metadata.name=a,metadata.namespace!=default", "Deployment")
    assert predicate is not None and predicate(obj)
    pod = field_predicate("status.phase=Running", "Pod")
    assert pod is not None and pod(obj)
    with pytest.raises(errors.ApiError) as caught:
        field_predicate("status.phase=Running", "Deployment")
    assert caught.value.code == 400
    assert "field label not supported" in caught.value.message


def test_cron_schedules() -> None:
    schedule = parse_schedule("*/15 2 * * 1-5")
    assert schedule.next_after(dt.datetime(2024, 1, 6, 0, 0)) == dt.datetime(2024, 1, 8, 2, 0)
    assert parse_schedule("@hourly").next_after(dt.datetime(2024, 1, 6, 0, 7)).hour == 1
    with pytest.raises(CronError):
        parse_schedule("61 * * * *")
    with pytest.raises(CronError):
        parse_schedule("* * *")


def test_fields_v1_round_trip_and_paths() -> None:
    paths = {
        ("f:spec", "f:replicas"),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}'),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
    }
    fields = to_fields_v1(paths)
    containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert containers['k:{"name":"web"}'] == {".": {}, "f:image": {}}
    assert from_fields_v1(fields) == paths
    assert path_string(sorted(paths)[-1]) == '.spec.template.spec.containers[name="web"].image'


def test_log_script_of_a_heartbeat_loop() -> None:
    command = [
        "sh",
        "-c",
        'while true; do echo "$(date -u +%FT%TZ) sleep-worker heartbeat"; sleep 30; done',
    ]
    script = logs.script_for({"command": command}, default_text="")
    start = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    lines = logs.lines(script, start, start + 95, "pod-a")
    assert [line for _, line in lines] == [
        "2024-05-01T12:00:00Z sleep-worker heartbeat",
        "2024-05-01T12:00:30Z sleep-worker heartbeat",
        "2024-05-01T12:01:00Z sleep-worker heartbeat",
        "2024-05-01T12:01:30Z sleep-worker heartbeat",
    ]


def test_log_script_without_echo_uses_the_configured_text() -> None:
    script = logs.script_for({"command": ["serve"]}, default_text="configured text")
    assert [line for _, line in logs.lines(script, 0, 10, "p")] == ["configured text"]
