"""Safe YAML reading: values, positions, variables, merge keys and the limits."""

from __future__ import annotations

import pytest

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


def _only_violation(text: str) -> tuple[int, int, str]:
    (violation,) = yamldoc.parse("f.yaml", text).violations
    return violation.line, violation.column, violation.message


@pytest.mark.parametrize(
    ("text", "line", "column", "code"),
    [
        ("\x00", 1, 1, "U+0000"),
        ("a: 1\nb: x\x00y\n", 2, 5, "U+0000"),
        ("a: 1\n# caf\u00e9 \x07\n", 2, 8, "U+0007"),
        ("k\x1b: v\n", 1, 2, "U+001B"),
        ("a: \u00e9\u00e9\u00e9\u00e9\x00", 1, 8, "U+0000"),
        ("a:\n  - b\n  - \ufffe\n", 3, 5, "U+FFFE"),
        ('a: "\ud800"\n', 1, 5, "U+D800"),
        ("a: 1\r\nb: \x7f\r\n", 2, 4, "U+007F"),
    ],
)
def test_characters_yaml_refuses_are_reported_where_they_are(
    text: str, line: int, column: int, code: str
) -> None:
    assert _only_violation(text)[:2] == (line, column)
    assert f"character {code} is not allowed in YAML" in _only_violation(text)[2]


def test_text_of_aliases_is_bounded_over_the_whole_file() -> None:
    long = "x" * 100_000
    aliases = ", ".join(["*a"] * 25)
    line, _, message = _only_violation(f"a: &a {long}\nb: [{aliases}]\n")
    assert line == 2 and "more than 2097152 characters" in message
    # every document within the limits, the file not: the limits hold for the file
    document = f"a: &a {'y' * 1000}\nb: [{', '.join(['*a'] * 90)}]\n"
    parsed = yamldoc.parse("f.yaml", "---\n".join([document] * 30))
    assert "more than 2097152 characters" in parsed.violations[0].message
    keys = "k: &k {" + ", ".join(f"{'z' * 1000}{i}: 1" for i in range(200)) + "}\n"
    parsed = yamldoc.parse("f.yaml", keys + f"m: [{', '.join(['*k'] * 20)}]\n")
    assert "characters of text" in parsed.violations[0].message


def test_values_of_aliases_are_bounded_over_the_whole_file() -> None:
    bomb = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    parsed = yamldoc.parse("f.yaml", "---\n".join([bomb + "c: [*b, *b, *b, *b, *b]\n"] * 300))
    assert "more than 100000 values" in parsed.violations[0].message


def test_a_scalar_too_long_for_its_type_is_quoted_short() -> None:
    line, column, message = _only_violation("n: " + "9" * 5000 + "\n")
    assert (line, column) == (1, 4)
    assert "(5000 characters) is not a valid !!int value; quote it" in message
    assert len(message) < 200
