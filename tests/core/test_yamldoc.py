"""Safe YAML reading: values, positions, variables, merge keys and the limits."""

from __future__ import annotations

from gitops_agent.core import yamldoc


def test_values_and_positions() -> None:
    parsed = yamldoc.parse("f.yaml", "a:\n  b: 1\n  c:\n    - x\n    - y: 2\nd: 2024-01-01\n")
    assert parsed.violations == ()
    doc = parsed.documents[0]
    assert doc.data == {"a": {"b": 1, "c": ["x", {"y": 2}]}, "d": "2024-01-01"}
    assert doc.position(("a", "b")) == yamldoc.Position(2, 3)
    assert doc.position(("a", "c", 1, "y")) == yamldoc.Position(5, 7)
    assert doc.position(("a", "c", 1, "missing")) == yamldoc.Position(5, 7)


def test_variables_keep_types_of_plain_scalars() -> None:
    text = "n: ${N}\nq: '${N}'\nname: ${NAME}-x\nlit: $${N}\nshell: $(date) $HOME\n"
    parsed = yamldoc.parse("f.yaml", text, env={"N": "3", "NAME": "w"})
    assert parsed.violations == ()
    assert parsed.documents[0].data == {
        "n": 3,
        "q": "3",
        "name": "w-x",
        "lit": "${N}",
        "shell": "$(date) $HOME",
    }


def test_undefined_variables_are_reported_where_written() -> None:
    parsed = yamldoc.parse("f.yaml", "a: 1\nb: ${ONE} ${TWO}\n", env={})
    assert [(v.line, v.column, v.message.split(":")[0]) for v in parsed.violations] == [
        (2, 4, "undefined variable ${ONE}"),
        (2, 4, "undefined variable ${TWO}"),
    ]
    assert parsed.documents[0].errors == 2


def test_without_env_no_substitution() -> None:
    parsed = yamldoc.parse("f.yaml", "a: ${X}\n")
    assert parsed.documents[0].data == {"a": "${X}"}


def test_merge_keys_and_anchors() -> None:
    text = "base: &b {cpu: 1, mem: 2}\nx:\n  <<: *b\n  mem: 3\ny: *b\n"
    data = yamldoc.parse("f.yaml", text).documents[0].data
    assert data["x"] == {"cpu": 1, "mem": 3}
    assert data["y"] == {"cpu": 1, "mem": 2}
    data["y"]["cpu"] = 9
    assert data["base"]["cpu"] == 1, "aliases are copies, not shared objects"


def test_multiple_documents_and_empty_ones() -> None:
    parsed = yamldoc.parse("f.yaml", "---\na: 1\n---\n---\nb: 2\n")
    assert [d.data for d in parsed.documents] == [{"a": 1}, None, {"b": 2}]
    assert [d.index for d in parsed.documents] == [0, 1, 2]


def test_limits() -> None:
    deep = "a: " + "[" * 65 + "]" * 65
    assert "nested deeper than 64" in yamldoc.parse("f.yaml", deep).violations[0].message
    many = "---\n" * (yamldoc.MAX_DOCUMENTS + 5)
    assert "more than 1000 documents" in yamldoc.parse("f.yaml", many).violations[0].message
    big = "a: " + "x" * (yamldoc.MAX_FILE_BYTES + 1)
    assert "larger than" in yamldoc.parse("f.yaml", big).violations[0].message


def test_keys_stay_strings() -> None:
    data = yamldoc.parse("f.yaml", "on: 1\n3: x\nnull: y\n").documents[0].data
    assert data == {"on": 1, "3": "x", "null": "y"}
