"""Every validation rule, one or more invalid fixture each, through the real command line.

Each case runs ``gitops-agent validate <fixture dir>`` in-process and checks the exit code,
the file, line and message of the violation, and that no traceback was printed. Cases that
cannot live in git (huge files, bad encodings, symlinks leaving the tree, FIFOs, alias bombs,
configurations with foreign schema references) are built in a temporary directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitops_agent.cli import main
from tests.conftest import FIXTURES

INVALID = FIXTURES / "invalid"

# case directory, file inside it, line, a part of the message
CASES = [
    ("yaml-syntax", "w.yaml", 3, "YAML syntax error: mapping values are not allowed"),
    ("yaml-duplicate-key", "w.yaml", 7, "duplicate key 'replicas' (first at line 6)"),
    ("yaml-list-document", "w.yaml", 1, "must be a YAML mapping, got a list"),
    ("yaml-scalar-document", "w.yaml", 1, "must be a YAML mapping, got a string"),
    ("yaml-alias-bomb", "w.yaml", 8, "alias bomb"),
    ("yaml-too-deep", "w.yaml", 6, "nested deeper than 64 levels"),
    ("yaml-unsafe-tag", "w.yaml", 2, "unsupported YAML tag !!python/object"),
    ("yaml-recursive-alias", "w.yaml", 5, "refers to no complete anchor"),
    ("type-missing", "w.yaml", 1, "missing required field 'type'"),
    ("type-unknown", "w.yaml", 3, "unknown type 'wrker'"),
    ("type-other-dataos", "s.yaml", 3, "type 'secret' is not managed by gitops-agent"),
    ("version-wrong", "w.yaml", 1, "'version': must be \"v2alpha\""),
    ("name-missing", "w.yaml", 1, "missing required field 'name'"),
    ("name-uppercase", "w.yaml", 2, "must be a DNS-1123 label"),
    ("name-too-long", "w.yaml", 2, "at most 48 characters"),
    ("unknown-top-field", "w.yaml", 4, "unknown field 'specs' (did you mean 'spec'?)"),
    (
        "unknown-field-replica",
        "w.yaml",
        6,
        "unknown field 'replica' in 'spec' (did you mean 'replicas'?)",
    ),
    ("replicas-type", "w.yaml", 6, "'spec.replicas': must be an integer, got a string (\"two\")"),
    ("compute-missing", "w.yaml", 4, "missing required field 'compute' in 'spec'"),
    ("quantity-invalid", "w.yaml", 9, '"50x" has an invalid format (expected a quantity'),
    ("quantity-millibytes", "w.yaml", 10, "means 64 millibytes (0.064 bytes); did you mean 64Mi?"),
    ("quantity-request-above-limit", "w.yaml", 9, "cpu request 500m is above its limit 200m"),
    ("execution-mode", "w.yaml", 7, "executionMode 'fast' is not supported (accepted: default)"),
    ("stack-unknown", "w.yaml", 14, "unknown stack 'flink' (known: bento, container, fastfun"),
    ("stack-container-image", "w.yaml", 15, "container stack: missing required field 'image'"),
    ("compute-unknown", "w.yaml", 5, "unknown compute 'gpu-large'"),
    ("env-key-invalid", "w.yaml", 23, 'envVars[0].key\': "1BAD" has an invalid format'),
    ("secret-mixed", "w.yaml", 27, "must be exactly one reference"),
    ("secret-alias-undeclared", "w.yaml", 24, "secret alias 'db' is not declared"),
    ("env-template-not-map", "w.yaml", 22, "envVarsTemplate must be a YAML mapping"),
    ("env-duplicate", "w.yaml", 25, "environment variable MODE is already set by envVarsTemplate"),
    ("volume-relative-dir", "w.yaml", 22, "(expected an absolute path)"),
    ("placeholder-left", "w.yaml", 3, "unfilled template placeholder ${{team}}"),
    ("variable-undefined", "w.yaml", 5, "undefined variable ${COMPUTE}"),
    ("disk-zero", "w.yaml", 20, "disk size must be greater than 0"),
    ("mount-conflict", "w.yaml", 25, "directory /data is already mounted by disk"),
    ("step-duplicate", "wf.yaml", 13, "duplicate step name 'a'"),
    ("step-depends-unknown", "wf.yaml", 14, "step 'b' depends on unknown step 'c'"),
    ("step-cycle", "wf.yaml", 7, "dependency cycle: a -> b -> a"),
    ("cron-invalid", "wf.yaml", 6, "needs 5 fields"),
    ("timezone-invalid", "wf.yaml", 7, "unknown timezone 'Mars/Olympus'"),
    ("concurrency-invalid", "wf.yaml", 7, "must be one of Allow, Forbid, Replace"),
    ("dag-empty", "wf.yaml", 5, "'spec.dag': must not be empty"),
    ("bundle-duplicate-id", "bundle.yaml", 8, "duplicate bundle resource id 'x'"),
    ("bundle-dependency-unknown", "bundle.yaml", 8, "resource 'x' depends on unknown resource 'y'"),
    ("bundle-cycle", "bundle.yaml", 8, "dependency cycle: a -> c -> b -> a"),
    ("bundle-condition-not-dependency", "bundle.yaml", 11, "not one of the dependencies of 'b'"),
    ("bundle-file-missing", "bundle.yaml", 7, "bundle file 'workers/nope.yaml' not found"),
    ("bundle-file-escape", "bundles/bundle.yaml", 7, "'../../outside.yaml' leaves the repository"),
    ("bundle-file-absolute", "bundle.yaml", 7, "must be a relative POSIX path"),
    ("bundle-file-two-docs", "bundle.yaml", 7, "'two.yaml' holds 2 manifests"),
    ("bundle-file-and-spec", "bundle.yaml", 6, "give exactly one of 'file' or 'spec'"),
    ("bundle-nested", "bundle.yaml", 6, "a bundle member cannot itself be a bundle"),
    (
        "bundle-condition-empty",
        "bundle.yaml",
        12,
        "a dependency condition needs 'status' or 'runtime'",
    ),
    (
        "bundle-file-shared",
        "b2.yaml",
        7,
        "'w1.yaml' is already a member of the bundle in b1.yaml:7",
    ),
    ("duplicate-resource", "b.yaml", 2, "worker/public/same is declared twice (first in"),
    ("duplicate-member-standalone", "w2.yaml", 2, "worker/public/same is declared twice"),
    # numbers that are not quantities, and quantities too large to compute with
    ("quantity-negative", "w.yaml", 8, "cpu '-1' is not a quantity: a quantity cannot be negative"),
    ("quantity-nan", "w.yaml", 8, "cpu 'nan' is not a quantity: a quantity is a finite number"),
    ("quantity-inf", "w.yaml", 8, "cpu 'inf' is not a quantity: a quantity is a finite number"),
    ("quantity-huge-exponent", "w.yaml", 8, "the exponent must be between -30 and 30"),
    ("quantity-long-number", "w.yaml", 8, "(5000 characters) is not a quantity: at most 64"),
    # timezones are zone files, not directories of the zone database
    ("timezone-directory", "wf.yaml", 7, "unknown timezone 'America' (use an Area/Location"),
    ("timezone-long", "wf.yaml", 7, "unknown timezone 'AAAA"),
    # a name ending in a line break is not a name ($ of a regular expression matches before it)
    ("name-newline", "w.yaml", 2, "name 'w\\n' must be a DNS-1123 label"),
    ("workspace-newline", "w.yaml", 4, "workspace 'public\\n' must be lowercase letters"),
    ("step-name-newline", "wf.yaml", 9, "step name 'a\\n' must be a DNS-1123 label"),
    ("env-key-newline", "w.yaml", 14, '"MODE\\n" has an invalid format (expected a name of'),
    ("file-name-newline", "w.yaml", 14, '"app.yaml\\n" has an invalid format (expected a file'),
    ("secret-id-newline", "w.yaml", 13, "secret id 'db-credentials\\n' must be 'tenant:name'"),
    # objects two resources would both write: refused by validate, not first by render
    (
        "collision-mapped-workspaces",
        "sales.yaml",
        2,
        "Deployment/shared/reporter would also be written for worker/marketing/reporter",
    ),
    (
        "collision-worker-workflow-configmap",
        "workflow.yaml",
        2,
        "ConfigMap/public/report-files would also be written for worker/public/report",
    ),
    ("bundle-file-self", "bundle.yaml", 7, "bundle file 'bundle.yaml' is this bundle's own file"),
    ("bundle-file-mutual", "a.yaml", 6, "a bundle member cannot itself be a bundle ('b.yaml'"),
    ("cron-reversed-range", "wf.yaml", 6, "the range 50-10 runs backwards"),
    ("cron-overflow", "wf.yaml", 6, "the step '99999999999999999999' is too large a number"),
    ("yaml-nul-byte", "w.yaml", 4, "20: character U+0000 is not allowed in YAML"),
    ("type-null", "w.yaml", 4, "'description': must be a string, got null"),
    # what Kubernetes would refuse at apply time is refused by validate
    ("image-newline", "w.yaml", 8, "image 'docker.io/library/alpine:3.20\\n' has surrounding"),
    ("storage-class-invalid", "w.yaml", 12, "storageClass 'Fast SSD' must be the name of"),
    ("directory-newline", "w.yaml", 13, "'/data\\n' holds a line break or a control character"),
]


def run_validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_fixture_directory_has_a_case() -> None:
    assert sorted(p.name for p in INVALID.iterdir()) == sorted(case[0] for case in CASES)
    assert len(CASES) >= 40


@pytest.mark.parametrize(("case", "file", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_invalid_fixture(
    capsys: pytest.CaptureFixture[str], case: str, file: str, line: int, message: str
) -> None:
    root = INVALID / case
    code, out, err = run_validate(capsys, str(root))
    assert code == 1
    assert "Traceback" not in out + err
    expected_prefix = f"{root}/{file}:{line}:"
    matching = [
        row for row in out.splitlines() if row.startswith(expected_prefix) and message in row
    ]
    assert matching, f"expected {expected_prefix} ... {message!r} in:\n{out}"


def test_json_output_lists_violation_objects(capsys: pytest.CaptureFixture[str]) -> None:
    root = INVALID / "unknown-field-replica"
    code, out, _ = run_validate(capsys, "-o", "json", str(root))
    assert code == 1
    rows = json.loads(out)
    assert rows == [
        {
            "file": f"{root}/w.yaml",
            "line": 6,
            "column": 3,
            "resource": "worker/public/w",
            "rule": "unknown-field",
            "message": "unknown field 'replica' in 'spec' (did you mean 'replicas'?)",
        }
    ]


def test_all_violations_of_a_run_are_reported_sorted(capsys: pytest.CaptureFixture[str]) -> None:
    roots = [str(INVALID / name) for name in ("step-cycle", "compute-unknown", "yaml-syntax")]
    code, out, _ = run_validate(capsys, *roots)
    rows = out.splitlines()
    assert code == 1
    assert len(rows) == 3
    per_root = [row for root in roots for row in rows if row.startswith(root)]
    assert per_root == rows


def _worker(name: str) -> str:
    return (
        (INVALID / "compute-unknown" / "w.yaml")
        .read_text()
        .replace("name: w", f"name: {name}")
        .replace("gpu-large", "runnable-default")
    )


def test_oversized_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "big.yaml").write_text(_worker("big") + "# " + "x" * (1024 * 1024) + "\n")
    code, out, _ = run_validate(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path}/big.yaml:1:1: not read: file is larger than 1024 KiB" in out


def test_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "latin.yaml").write_bytes(
        _worker("latin").encode() + "description: caf\xe9\n".encode("latin-1")
    )
    code, out, _ = run_validate(capsys, str(tmp_path))
    assert code == 1
    line = _worker("latin").count("\n") + 1
    assert f"latin.yaml:{line}:17: not read: not UTF-8 text (byte 0xe9)" in out


def test_symlink_leaving_the_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    repo = tmp_path / "repo"
    outside.mkdir()
    repo.mkdir()
    (outside / "secret.yaml").write_text(_worker("outside"))
    os.symlink(outside / "secret.yaml", repo / "link.yaml")
    os.symlink(outside, repo / "linked-dir")
    bundle = (INVALID / "bundle-file-missing" / "bundle.yaml").read_text()
    (repo / "bundle.yaml").write_text(bundle.replace("workers/nope.yaml", "linked-dir/secret.yaml"))
    code, out, _ = run_validate(capsys, str(repo))
    assert code == 1
    assert f"{repo}/link.yaml:1:1: not read: symlink leaves the repository" in out
    assert (
        f"{repo}/bundle.yaml:7:7: bundle/b: bundle file 'linked-dir/secret.yaml': symlinked directory leaves"
        in out
    )
    assert "outside" not in out.replace(str(tmp_path), "")


def test_symlink_inside_the_repository_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "w.yaml").write_text(_worker("inside"))
    bundle = (INVALID / "bundle-file-missing" / "bundle.yaml").read_text()
    (tmp_path / "bundle.yaml").write_text(bundle.replace("workers/nope.yaml", "alias.yaml"))
    os.symlink(tmp_path / "real" / "w.yaml", tmp_path / "alias.yaml")
    code, out, _ = run_validate(capsys, str(tmp_path))
    # the real file is loaded on its own and the symlink is the bundle's member: one worker twice
    assert code == 1
    assert "worker/public/inside is declared twice" in out


def test_aliases_of_a_long_value_are_bounded_by_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 680 KB: a 580,000-character anchor aliased 20,000 times (under the 100,000-value limit)
    aliases = ", ".join(["*big"] * 20_000)
    text = _worker("bomb").replace(
        "version: v2alpha", f"version: v2alpha\ndescription: &big {'x' * 580_000}"
    )
    (tmp_path / "w.yaml").write_text(text.replace("command: [sh]", f"command: [{aliases}]"))
    code, out, _ = run_validate(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path}/w.yaml:18:27:" in out
    assert "file expands to more than 2097152 characters of text (alias bomb?)" in out


def test_a_fifo_is_skipped_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "w.yaml").write_text(_worker("w"))
    os.mkfifo(tmp_path / "pipe.yaml")
    code, out, _ = run_validate(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path}/pipe.yaml:1:1: not read: a FIFO (named pipe), not a regular file" in out


@pytest.mark.parametrize(
    "ref", ["urn:example:stack", "https://schemas.example.invalid/flink.json", "#/$defs/nope"]
)
def test_a_stack_schema_refers_only_to_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str
) -> None:
    stack = f"flink:\n      image: flink:1.19\n      schema: {{$ref: '{ref}'}}\n"
    config = f"target:\n  stacks:\n    {stack}"
    (tmp_path / "gitops-agent.yaml").write_text(config)
    (tmp_path / "w.yaml").write_text(_worker("w").replace("stack: container", "stack: flink"))
    code, out, err = run_validate(capsys, str(tmp_path))
    assert code == 1
    assert "Traceback" not in out + err
    assert f"{tmp_path}/gitops-agent.yaml:3:5: target.stacks.flink.schema: $ref {ref!r}" in err
