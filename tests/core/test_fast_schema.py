"""The fast schema path decides valid and invalid exactly as jsonschema does.

``core.fastschema`` compiles the schemas into predicates; ``core.schema.check`` trusts a
predicate's "valid" and asks jsonschema for the errors otherwise. These tests hold the two
to one answer: over every document of the bad-input corpus (the hand-written cases and the
examples of its strategies), checked against every manifest schema, the configuration's,
each bundle member's inline spec and each stack's ``stackSpec`` schema; over random edits of
valid manifests; and over random schemas from the keywords the compiler takes (and some it
refuses) with random data. What the compiler refuses compiles to None, never to a guess.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_agent.core import fastschema, schema, yamldoc
from gitops_agent.core.stacks import BUILTIN_STACKS
from tests.core.corpus.cases import BUNDLE, SCHEDULED, WORKER, WORKFLOW, Case
from tests.core.corpus.handwritten import all_cases
from tests.core.corpus.strategies import STRATEGIES

KINDS = ("worker", "workflow", "bundle")
CHECKERS = {kind: schema.checker_for(kind) for kind in (*KINDS, "config")}
STACK_CHECKERS = {name: schema.checker_of(s.spec_schema) for name, s in BUILTIN_STACKS.items()}
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def agree(checker: schema.Checker, data: Any) -> None:
    """The fast answer is jsonschema's, and it is an answer (no exception on YAML data)."""
    assert checker.fast is not None
    slow = not any(True for _ in checker.slow().iter_errors(data))
    assert checker.fast(data) is slow, data


def _values(case: Case) -> Iterator[tuple[str, Any]]:
    """The data of every document of a case's files, with the file name."""
    for name, content in case.files.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        for doc in yamldoc.parse(name, text, env={}).documents:
            yield name, doc.data


def _pairs(name: str, data: Any) -> Iterator[tuple[schema.Checker, Any]]:
    """Each checker and the part of ``data`` it checks."""
    checkers = [CHECKERS["config"]] if name.endswith("gitops-agent.yaml") else []
    for part in [data, *_member_specs(data)]:
        yield from ((checker, part) for checker in [*checkers, *(CHECKERS[k] for k in KINDS)])
        for stack_spec in _stack_specs(part):
            yield from ((checker, stack_spec) for checker in STACK_CHECKERS.values())


def _member_specs(data: Any) -> list[Any]:
    members = data.get("bundle", {}).get("resources") if isinstance(data, dict) else None
    if not isinstance(members, list) or not isinstance(data.get("bundle"), dict):
        return []
    return [m["spec"] for m in members if isinstance(m, dict) and "spec" in m]


def _stack_specs(data: Any) -> list[Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    if not isinstance(spec, dict):
        return []
    dag = spec.get("dag")
    steps = dag if isinstance(dag, list) else []
    runtimes = [spec] + [s.get("spec") for s in steps if isinstance(s, dict)]
    return [r["stackSpec"] for r in runtimes if isinstance(r, dict) and "stackSpec" in r]


def test_the_compiler_knows_every_keyword_jsonschema_asserts() -> None:
    assert set(jsonschema.Draft202012Validator.VALIDATORS) == fastschema.ASSERTING_KEYWORDS


def test_every_schema_of_the_agent_compiles() -> None:
    for checker in [*CHECKERS.values(), *STACK_CHECKERS.values()]:
        assert checker.fast is not None


def test_the_handwritten_corpus_gets_the_same_answers() -> None:
    cases = all_cases()
    checked = 0
    for case in cases:
        for name, data in _values(case):
            for checker, part in _pairs(name, data):
                agree(checker, part)
                checked += 1
    assert len(cases) >= 450
    assert checked >= 2000


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_the_corpus_strategies_get_the_same_answers(strategy: str) -> None:
    built, examples = STRATEGIES[strategy]

    @settings(SETTINGS, max_examples=examples)
    @given(built)
    def run(case: Case) -> None:
        for name, data in _values(case):
            for checker, part in _pairs(name, data):
                agree(checker, part)

    run()


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "a", "v2alpha", "worker", "bundle", "64Mi", "-1", "/etc", "x\n", "Allow"]),
    st.text(max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "name", "spec", "id", "is", "1"]), inner, max_size=3),
    ),
    max_leaves=8,
)
NEAR_NAMES = ["replica", "stack", "image", "file", "spec", "status", "runtime", "x-extra", "$"]


def _paths(data: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*at, index))


@st.composite
def edited_manifests(draw: st.DrawFn) -> Any:
    """A valid manifest with a few random edits: a value replaced, a key removed or added."""
    member = {"id": "b", "spec": WORKER, "dependencies": ["a"]}
    member["dependencyConditions"] = [{"resourceId": "a", "status": {"is": ["active"]}}]
    bundle = copy.deepcopy(BUNDLE)
    bundle["bundle"]["resources"].append(member)
    data = copy.deepcopy(draw(st.sampled_from([WORKER, WORKFLOW, SCHEDULED, bundle])))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(data))))
        if not path:
            continue
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(NEAR_NAMES))] = draw(JSON)
        else:
            parent.append(draw(JSON))
    return data


@SETTINGS
@given(edited_manifests())
def test_edited_manifests_get_the_same_answers(data: Any) -> None:
    for checker, part in _pairs("m.yaml", data):
        agree(checker, part)


TYPES = st.sampled_from(["string", "integer", "number", "boolean", "object", "array", "null"])
KEYWORD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "type": st.one_of(TYPES, st.lists(TYPES, max_size=3)),
    "enum": st.lists(SCALARS, max_size=4),
    "const": JSON,
    "minLength": st.integers(0, 3),
    "maxLength": st.integers(0, 3),
    "pattern": st.sampled_from(["^a", "a$", "^[a-z]+$", "[$]", "^$"]),
    "minimum": st.one_of(st.integers(-2, 2), st.floats(-2, 2)),
    "maximum": st.one_of(st.integers(-2, 2), st.floats(-2, 2)),
    "exclusiveMinimum": st.integers(-2, 2),
    "exclusiveMaximum": st.integers(-2, 2),
    "minItems": st.integers(0, 2),
    "maxItems": st.integers(0, 2),
    "minProperties": st.integers(0, 2),
    "maxProperties": st.integers(0, 2),
    "required": st.lists(st.sampled_from(["a", "name", "1"]), max_size=2),
    "format": st.sampled_from(["date", "email", "uri"]),
    "title": st.text(max_size=3),
    "uniqueItems": st.booleans(),
    "multipleOf": st.integers(1, 3),
}


def schemas() -> st.SearchStrategy[Any]:
    """Random schemas of the keywords above, nested through the applicators."""

    def node(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        names = st.sampled_from(["a", "name", "1"])
        applicators: dict[str, st.SearchStrategy[Any]] = {
            "properties": st.dictionaries(names, inner, max_size=2),
            "patternProperties": st.dictionaries(st.sampled_from(["^a", "e$"]), inner, max_size=1),
            "additionalProperties": inner,
            "items": inner,
            "allOf": st.lists(inner, max_size=2),
            "anyOf": st.lists(inner, max_size=2),
            "oneOf": st.lists(inner, max_size=2),
            "not": inner,
            "$ref": st.just("#"),
        }
        keywords = {**KEYWORD_VALUES, **applicators}
        return st.dictionaries(st.sampled_from(sorted(keywords)), st.none(), max_size=3).flatmap(
            lambda chosen: st.fixed_dictionaries({k: keywords[k] for k in chosen})
        )

    return st.recursive(st.one_of(st.booleans(), node(st.booleans())), node, max_leaves=6)


@SETTINGS
@given(schemas(), st.lists(JSON, min_size=1, max_size=6))
def test_random_schemas_compile_exactly_or_not_at_all(written: Any, values: list[Any]) -> None:
    root = written if isinstance(written, dict) else {"allOf": [written]}
    checker = schema.checker_of(root)
    if checker.fast is None:
        return
    for value in values:
        try:
            slow = not any(True for _ in checker.slow().iter_errors(value))
        except RecursionError:
            continue  # a schema that is its own reference: both paths give up on it
        try:
            fast = checker.fast(value)
        except RecursionError:
            continue
        assert fast is slow, (root, value)


@pytest.mark.parametrize(
    "written",
    [
        {"uniqueItems": True},
        {"if": {"type": "string"}, "then": {"minLength": 2}},
        {"prefixItems": [{"type": "string"}]},
        {"$ref": "#/$defs/missing"},
        {"$ref": "#anchor", "$defs": {"a": {"$anchor": "anchor"}}},
        {"properties": {"a": {"$id": "urn:other", "type": "string"}}},
        {"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#"}}},
        {"pattern": "("},
        {"minLength": 1.5},
        {"type": "float"},
    ],
)
def test_what_the_compiler_does_not_decide_goes_to_jsonschema(written: Any) -> None:
    assert schema.checker_of(written).fast is None


def test_enum_and_const_keep_true_apart_from_one() -> None:
    checker = schema.checker_of({"enum": [1, [0], {"a": 1.0}], "const": 1})
    for value, expected in [(1, True), (True, False), (1.0, True), ([False], False)]:
        assert checker.fast is not None
        assert checker.fast(value) is expected
        assert schema.passes(checker, value) is expected
    assert fastschema.equal(float("nan"), float("nan")) is False
    assert fastschema.equal(math.nan, math.nan) is True  # the same object, as in jsonschema


def test_a_recursive_schema_is_checked_by_either_path() -> None:
    tree = {"type": "object", "properties": {"child": {"$ref": "#"}}, "required": ["name"]}
    checker = schema.checker_of(tree)
    assert checker.fast is not None
    assert schema.check(checker, {"name": 1, "child": {"name": 2, "child": {}}}) != []
    assert schema.check(checker, {"name": 1, "child": {"name": 2}}) == []
