"""The hand-written cases of the corpus, by class of bad input, with valid controls.

Each list is the reproduction of one class issue 12 names (and its neighbours); the
fixtures of ``tests/fixtures/invalid`` and ``tests/fixtures/render`` and the sample
repository join them in ``all_cases``.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import FIXTURES, SAMPLE_REPO
from tests.core.corpus.cases import (
    BUNDLE,
    PROJECTION,
    RUNTIME,
    SCHEDULED,
    WORKER,
    WORKFLOW,
    Case,
    Digits,
    dump,
    one,
    with_value,
    without,
)

REQUEST_CPU = ("spec", "resources", "requests", "cpu")
LIMIT_MEMORY = ("spec", "resources", "limits", "memory")
DISK_SIZE = ("spec", "disk", "size")
STEP_CPU = ("spec", "dag", 0, "spec", "resources", "requests", "cpu")

BAD_QUANTITIES: list[Any] = [
    -1,
    -0.5,
    -1e-9,
    float("nan"),
    float("inf"),
    float("-inf"),
    "1e999999999",
    "1e-999999999",
    "-1",
    "1e31",
    "9" * 5000,
    10**4000,
    Digits("9" * 5000),
    1e300,
    "8Ei",
    "1e19",
    "9223372036854775808",
    "50m\n",
    " 50m",
    "50m ",
    "5O0m",
    "1.2.3",
    "",
    "Mi",
    "1 Gi",
    "0x10",
    "1_000",
    "\u0661",
    "+-1",
    "1e",
    "e5",
    ".",
    "64MI",
    "64mi",
    True,
    None,
    [1],
    {"a": 1},
]
GOOD_CPU: list[Any] = [
    "7Ei",
    "1e18",
    0,
    0.5,
    "0.000000001",
    "+1",
    "1E3",
    ".5",
    "5.",
    2**63 - 1,
    "1e-30",
    "999Pi",
]


def quantities() -> list[Case]:
    cases: list[Case] = []
    worker_disk = with_value(WORKER, ("spec", "disk"), {"size": "1Gi"})
    for index, value in enumerate(BAD_QUANTITIES):
        cases.append(one(f"quantity-cpu-{index}", with_value(WORKER, REQUEST_CPU, value)))
        cases.append(one(f"quantity-memory-{index}", with_value(WORKER, LIMIT_MEMORY, value)))
        cases.append(one(f"quantity-disk-{index}", with_value(worker_disk, DISK_SIZE, value)))
    for index, value in enumerate(BAD_QUANTITIES[:12]):
        cases.append(one(f"quantity-step-{index}", with_value(WORKFLOW, STEP_CPU, value)))
    unlimited = without(WORKER, ("spec", "resources", "limits"))
    for index, value in enumerate(GOOD_CPU):
        cases.append(
            one(f"quantity-good-{index}", with_value(unlimited, REQUEST_CPU, value), valid=True)
        )
    for index, value in enumerate(["64Mi", "1G", "7Ei", 1024, "1e9"]):
        memory = ("spec", "resources", "requests", "memory")
        cases.append(
            one(f"quantity-good-memory-{index}", with_value(unlimited, memory, value), valid=True)
        )
        cases.append(
            one(
                f"quantity-good-disk-{index}", with_value(worker_disk, DISK_SIZE, value), valid=True
            )
        )
    return cases


BAD_TIMEZONES: list[Any] = [
    "America",
    "Europe",
    "Asia",
    "Etc",
    "US",
    "Antarctica",
    "A" * 5000,
    "Europe/" + "b" * 300,
    "Europe/../UTC",
    "UTC\n",
    "",
    " UTC",
    "UTC ",
    "/etc/passwd",
    "../../../../etc/passwd",
    "Europe/Berlin/",
    "Europe//Berlin",
    "localtime",
    "posixrules",
    "Mars/Olympus",
    "zone.tab",
    "tzdata.zi",
    "right/UTC",
    "Europe/berlin",
    5,
]
GOOD_TIMEZONES = [
    "UTC",
    "Europe/Berlin",
    "America/Argentina/Buenos_Aires",
    "Etc/GMT+5",
    "Asia/Kolkata",
    "America/New_York",
    "Australia/Sydney",
]
TIMEZONE = ("spec", "schedule", "timezone")


def timezones() -> list[Case]:
    cases = [
        one(f"timezone-{index}", with_value(SCHEDULED, TIMEZONE, value), at="m.yaml:8:5: ")
        for index, value in enumerate(BAD_TIMEZONES)
    ]
    cases += [
        one(f"timezone-good-{index}", with_value(SCHEDULED, TIMEZONE, value), valid=True)
        for index, value in enumerate(GOOD_TIMEZONES)
    ]
    return cases


BAD_CRONS = [
    "50-10 * * * *",
    "* 20-3 * * *",
    "* * 31-1 * *",
    "* * * 12-1 *",
    "* * * * 6-0",
    "* * * dec-jan *",
    "* * * * fri-mon",
    "60 * * * *",
    "* 24 * * *",
    "* * 0 * *",
    "* * 32 * *",
    "* * * 0 *",
    "* * * 13 *",
    "* * * * 7",
    "99999999999999999999 * * * *",
    "9" * 5000 + " * * * *",
    "*/99999999999999999999 * * * *",
    "*/" + "9" * 5000 + " * * * *",
    "*/0 * * * *",
    "* */0 * * *",
    "1-5/0 * * * *",
    "1,,2 * * * *",
    ", * * * *",
    "1-2-3 * * * *",
    "1/2/3 * * * *",
    "-5 * * * *",
    "5- * * * *",
    "* * * * *  *",
    "* * * *",
    "",
    "@every 5m",
    "@reboot",
    "60/5 * * * *",
    "* * * foo *",
    "* * * * sunday",
    "\u0661 * * * *",
]
GOOD_CRONS = [
    "*/5 * * * *",
    "0 3 * * 1-5",
    "0 0 1 jan,jul ?",
    "@hourly",
    "@yearly",
    "15 2 * * SUN",
    "5/15 * * * *",
    "*/100 * * * *",
    "0 0 * * mon-fri",
    "59 23 31 12 6",
    "0-59/7 0-23/5 1-31/3 1-12/2 0-6/2",
    "0 12 * JAN-DEC SUN-SAT",
]
CRON = ("spec", "schedule", "crons")
END_ON = ("spec", "schedule", "endOn")
BAD_END_ON = ["", "tomorrow", "2030-13-01", "2030-01-01T25:00:00", "2030-01-01\n", "9" * 5000]
GOOD_END_ON = ["2030-01-01", "2030-01-31T18:00:00Z", "2030-01-01T00:00:00+05:00"]


def crons() -> list[Case]:
    cases = [
        one(f"cron-{index}", with_value(SCHEDULED, CRON, [value]), at="m.yaml:7:")
        for index, value in enumerate(BAD_CRONS)
    ]
    cases += [
        one(f"cron-good-{index}", with_value(SCHEDULED, CRON, [value]), valid=True)
        for index, value in enumerate(GOOD_CRONS)
    ]
    cases += [
        one(f"end-on-{index}", with_value(SCHEDULED, END_ON, value), expect="is not an ISO-8601")
        for index, value in enumerate(BAD_END_ON)
    ]
    cases += [
        one(f"end-on-good-{index}", with_value(SCHEDULED, END_ON, value), valid=True)
        for index, value in enumerate(GOOD_END_ON)
    ]
    return cases


_WITH_PROJECTION = with_value(WORKER, ("spec", "use"), {"projection": PROJECTION})
_WITH_VOLUME = with_value(
    WORKER, ("spec", "use"), {"volumes": [{"name": "data", "directory": "/data"}]}
)
_TWO_STEPS = with_value(
    WORKFLOW,
    ("spec", "dag"),
    [{"name": "a", "spec": RUNTIME}, {"name": "b", "depends": ["a"], "spec": RUNTIME}],
)
_BUNDLE_INLINE: dict[str, Any] = {
    **BUNDLE,
    "bundle": {
        "resources": [{"id": "a", "workspace": "public", "spec": WORKER}],
        "workspaces": [{"name": "public"}],
    },
}
NAME_FIELDS: list[tuple[str, dict[str, Any], tuple[str | int, ...]]] = [
    ("name", WORKER, ("name",)),
    ("workspace", with_value(WORKER, ("workspace",), "public"), ("workspace",)),
    ("step", WORKFLOW, ("spec", "dag", 0, "name")),
    ("depends", _TWO_STEPS, ("spec", "dag", 1, "depends", 0)),
    (
        "env-key",
        _WITH_PROJECTION,
        ("spec", "use", "projection", "projections", "envVars", 0, "key"),
    ),
    (
        "file-name",
        _WITH_PROJECTION,
        ("spec", "use", "projection", "projections", "files", 0, "name"),
    ),
    ("secret-id", _WITH_PROJECTION, ("spec", "use", "projection", "secrets", 0, "id")),
    (
        "context-alias",
        _WITH_PROJECTION,
        ("spec", "use", "projection", "secrets", 0, "contextAlias"),
    ),
    ("volume", _WITH_VOLUME, ("spec", "use", "volumes", 0, "name")),
    ("member-workspace", _BUNDLE_INLINE, ("bundle", "resources", 0, "workspace")),
    ("bundle-workspace", _BUNDLE_INLINE, ("bundle", "workspaces", 0, "name")),
]
SUFFIXES = ["\n", "\r", " ", "\t"]


def names() -> list[Case]:
    cases: list[Case] = []
    for field, base, path in NAME_FIELDS:
        original = _get(base, path)
        for index, suffix in enumerate(SUFFIXES):
            cases.append(one(f"name-{field}-{index}", with_value(base, path, original + suffix)))
    for key, value in [
        ("name", "prod\n"),
        ("target", {"workspaces": {"sales": "team-sales\n"}}),
        ("target", {"inventoryNamespace": "agent\n"}),
        ("source", {"tokenEnv": "GIT_TOKEN\n"}),
        ("reporter", {"tokenEnv": "TOKEN\n"}),
        ("server", {"webhookSecretEnv": "SECRET\n"}),
    ]:
        config = dump({key: value})
        cases.append(
            Case(
                f"name-config-{key}-{len(cases)}",
                {"gitops-agent.yaml": config, "w.yaml": dump(WORKER)},
                at="gitops-agent.yaml:",
            )
        )
    long_name = "a" * 48
    cases += [
        one("name-good-48", with_value(WORKER, ("name",), long_name), valid=True),
        one("name-good-workspace-32", with_value(WORKER, ("workspace",), "w" * 32), valid=True),
        one("name-good-digits", with_value(WORKER, ("name",), "0"), valid=True),
        one("name-good-projection", _WITH_PROJECTION, valid=True),
        one("name-good-bundle", _BUNDLE_INLINE, valid=True),
        one("name-good-steps", _TWO_STEPS, valid=True),
    ]
    return cases


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _files_worker(name: str, stack: str = "container") -> dict[str, Any]:
    worker = with_value(WORKER, ("name",), name)
    worker = with_value(worker, ("spec", "use"), {"projection": PROJECTION})
    if stack == "bento":
        worker = with_value(worker, ("spec", "stack"), "bento")
        worker = with_value(
            worker, ("spec", "stackSpec"), {"input": {"stdin": {}}, "output": {"stdout": {}}}
        )
    return worker


def _files_step(name: str, *, stack: str = "container", scheduled: bool = True) -> dict[str, Any]:
    step = _files_worker("x", stack)["spec"]
    step = {key: step[key] for key in ("compute", "stack", "stackSpec", "use")}
    base = SCHEDULED if scheduled else WORKFLOW
    return with_value(with_value(base, ("name",), name), ("spec", "dag", 0, "spec"), step)


def _in(workspace: str, data: dict[str, Any]) -> dict[str, Any]:
    return with_value(data, ("workspace",), workspace)


def collisions() -> list[Case]:
    shared = "target:\n  workspaces: {sales: shared, marketing: shared}\n"
    onto = "target:\n  workspaces: {sales: marketing}\n"
    return [
        Case(
            "collision-mapped",
            {
                "gitops-agent.yaml": shared,
                "a.yaml": dump(_in("sales", WORKER)),
                "b.yaml": dump(_in("marketing", WORKER)),
            },
            expect="Deployment/shared/w would also be written",
        ),
        Case(
            "collision-onto-other",
            {
                "gitops-agent.yaml": onto,
                "a.yaml": dump(_in("sales", WORKER)),
                "b.yaml": dump(_in("marketing", WORKER)),
            },
            expect="Deployment/marketing/w would also be written",
        ),
        Case(
            "collision-configmap",
            {"a.yaml": dump(_files_worker("report")), "b.yaml": dump(_files_step("report"))},
            expect="ConfigMap/public/report-files would also be written",
        ),
        Case(
            "collision-stack-configmap",
            {
                "a.yaml": dump(_files_worker("feed", "bento")),
                "b.yaml": dump(_files_step("feed", stack="bento")),
            },
            expect="ConfigMap/public/feed-stack would also be written",
        ),
        Case(
            "collision-cronjobs",
            {
                "gitops-agent.yaml": shared,
                "a.yaml": dump(_in("sales", SCHEDULED)),
                "b.yaml": dump(_in("marketing", SCHEDULED)),
            },
            expect="CronJob/shared/wf would also be written",
        ),
        Case(
            "collision-bundle-member",
            {
                "gitops-agent.yaml": shared,
                "a.yaml": dump(_in("sales", WORKER)),
                "b.yaml": dump(
                    {
                        **BUNDLE,
                        "bundle": {
                            "resources": [{"id": "a", "workspace": "marketing", "spec": WORKER}]
                        },
                    }
                ),
            },
            expect="would also be written",
        ),
        Case(
            "collision-good-unmapped",
            {"a.yaml": dump(_in("sales", WORKER)), "b.yaml": dump(_in("marketing", WORKER))},
            valid=True,
        ),
        Case(
            "collision-good-one-off",
            {
                "a.yaml": dump(_files_worker("report")),
                "b.yaml": dump(_files_step("report", scheduled=False)),
            },
            valid=True,
        ),
    ]


def _bundle(name: str, *files: str) -> str:
    members = [{"id": f"m{index}", "file": file} for index, file in enumerate(files)]
    return dump({**BUNDLE, "name": name, "bundle": {"resources": members}})


def bundles() -> list[Case]:
    worker = dump(WORKER)
    return [
        Case(
            "bundle-self",
            {"b.yaml": _bundle("b", "b.yaml")},
            expect="is this bundle's own file",
            at="b.yaml:7:",
        ),
        Case(
            "bundle-self-dot",
            {"b.yaml": _bundle("b", "./b.yaml")},
            expect="is this bundle's own file",
        ),
        Case(
            "bundle-self-around",
            {"sub/b.yaml": _bundle("b", "../sub/b.yaml")},
            expect="is this bundle's own file",
        ),
        Case(
            "bundle-self-from-root",
            {"sub/b.yaml": _bundle("b", "sub/b.yaml")},
            expect="is this bundle's own file",
        ),
        Case(
            "bundle-mutual",
            {"a.yaml": _bundle("a", "b.yaml"), "b.yaml": _bundle("b", "a.yaml")},
            expect="cannot itself be a bundle",
        ),
        Case(
            "bundle-three",
            {
                "a.yaml": _bundle("a", "b.yaml"),
                "b.yaml": _bundle("b", "c.yaml"),
                "c.yaml": _bundle("c", "a.yaml"),
            },
            expect="cannot itself be a bundle",
        ),
        Case(
            "bundle-self-and-worker",
            {"b.yaml": _bundle("b", "w.yaml", "b.yaml"), "w.yaml": worker},
            expect="is this bundle's own file",
        ),
        Case(
            "bundle-file-holds-bundle",
            {
                "a.yaml": _bundle("a", "inner/b.yaml"),
                "inner/b.yaml": _bundle("b", "../w.yaml"),
                "w.yaml": worker,
            },
            expect="cannot itself be a bundle",
        ),
        Case("bundle-good", {"b.yaml": _bundle("b", "w.yaml"), "w.yaml": worker}, valid=True),
    ]


def _long_alias(anchor: int, aliases: int) -> str:
    worker = dump(WORKER).replace(
        "version: v2alpha", f"version: v2alpha\ndescription: &a {'x' * anchor}"
    )
    return worker.replace("- sleep 3600", "- sleep 3600\n" + "    - *a\n" * aliases)


def _nested_bomb(levels: int, width: int) -> str:
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def aliases() -> list[Case]:
    big = "x" * 580_000
    bomb_680k = dump(WORKER).replace(
        "version: v2alpha", f"version: v2alpha\ndescription: &big {big}"
    )
    bomb_680k = bomb_680k.replace("- sleep 3600", "- sleep 3600\n" + "    - *big\n" * 20_000)
    keys = "k: &k {" + ", ".join(f"{'z' * 1000}{i}: 1" for i in range(200)) + "}\n"
    merges = (
        "big: &big {"
        + ", ".join(f"k{i}: v" for i in range(200))
        + "}\nitems:\n"
        + "- {<<: *big}\n" * 1000
    )
    documents = "---\n".join([_nested_bomb(3, 12)] * 200)
    heavy = {"heavy": True}
    return [
        Case(
            "alias-680k", {"w.yaml": bomb_680k}, expect="characters of text (alias bomb?)", **heavy
        ),
        Case(
            "alias-nested",
            {"w.yaml": _nested_bomb(9, 10)},
            expect="more than 100000 values",
            **heavy,
        ),
        Case("alias-documents", {"w.yaml": documents}, expect="more than 100000 values", **heavy),
        Case(
            "alias-keys",
            {"w.yaml": keys + "m: [" + ", ".join(["*k"] * 20) + "]\n"},
            expect="characters of text",
            **heavy,
        ),
        Case("alias-merges", {"w.yaml": merges}, expect="more than 100000 values", **heavy),
        Case(
            "alias-long-string",
            {"w.yaml": _long_alias(100_000, 25)},
            expect="characters of text",
            **heavy,
        ),
        Case("alias-good-long-string", {"w.yaml": _long_alias(19_000, 100)}, valid=True, **heavy),
        Case(
            "alias-good-many-values",
            {"w.yaml": dump(with_value(WORKER, ("spec", "stackSpec", "command"), ["x"] * 90_000))},
            valid=True,
            **heavy,
        ),
        Case(
            "alias-good-big-file",
            {"w.yaml": dump(with_value(WORKER, ("description",), "d" * 1_000_000))},
            valid=True,
            **heavy,
        ),
        Case(
            "alias-good-many-workers",
            {
                "w.yaml": "---\n".join(
                    dump(with_value(WORKER, ("name",), f"w{i}")) for i in range(300)
                )
            },
            valid=True,
            **heavy,
        ),
    ]


def special_files() -> list[Case]:
    worker = {"w.yaml": dump(WORKER)}
    return [
        Case(
            "special-fifo",
            worker,
            special=(("fifo", "p.yaml"),),
            at="p.yaml:1:1: ",
            expect="a FIFO (named pipe)",
        ),
        Case(
            "special-fifo-deep",
            worker,
            special=(("fifo", "a/b/p.yml"),),
            at="a/b/p.yml:1:1: ",
            expect="a FIFO",
        ),
        Case(
            "special-socket",
            worker,
            special=(("socket", "s.yaml"),),
            at="s.yaml:1:1: ",
            expect="a socket",
        ),
        Case(
            "special-link-to-fifo",
            worker,
            special=(("fifo", "real/p.fifo"), ("symlink", "l.yaml", "real/p.fifo")),
            at="l.yaml:1:1: ",
            expect="a FIFO",
        ),
        Case(
            "special-fifo-argument",
            worker,
            special=(("fifo", "p.yaml"),),
            argument="p.yaml",
            expect="a FIFO",
        ),
        Case(
            "special-link-to-dev-zero",
            worker,
            special=(("symlink", "z.yaml", "/dev/zero"),),
            at="z.yaml:1:1: ",
            expect="symlink leaves the repository",
        ),
    ]


def device_case() -> Case:
    return Case(
        "special-device",
        {"w.yaml": dump(WORKER)},
        special=(("device", "d.yaml"),),
        at="d.yaml:1:1: ",
        expect="a character device",
    )


_TEXT = dump(WORKER)


def _insert(text: str, line: int, column: int, what: str) -> str:
    lines = text.split("\n")
    row = lines[line - 1]
    lines[line - 1] = row[: column - 1] + what + row[column - 1 :]
    return "\n".join(lines)


BAD_CHARACTERS = [
    (1, 1, "\x00"),
    (16, 10, "\x00"),
    (2, 3, "\x01"),
    (3, 7, "\x07"),
    (5, 1, "\x08"),
    (6, 12, "\x0b"),
    (7, 2, "\x0c"),
    (8, 5, "\x1b"),
    (9, 9, "\x7f"),
    (10, 4, "\x9b"),
    (11, 6, "\ufffe"),
    (12, 3, "\uffff"),
    (13, 7, "\x0e"),
    (14, 1, "\x1f"),
    (20, 17, "\x00"),
]


def characters() -> list[Case]:
    cases = [
        Case(
            f"character-{index}",
            {"w.yaml": _insert(_TEXT, line, column, char)},
            at=f"w.yaml:{line}:{column}: ",
            expect=f"character U+{ord(char):04X} is not allowed",
        )
        for index, (line, column, char) in enumerate(BAD_CHARACTERS)
    ]
    accented = _TEXT.replace(
        "name: w", "name: w\ndescription: \u00e9t\u00e9 \u4e2d\u6587 \U0001f600"
    )
    cases.append(
        Case(
            "character-after-wide", {"w.yaml": _insert(accented, 3, 22, "\x00")}, at="w.yaml:3:22: "
        )
    )
    cases.append(Case("character-good-wide", {"w.yaml": accented}, valid=True))
    cases.append(Case("character-good-bom", {"w.yaml": "\ufeff" + _TEXT}, valid=True))
    return cases


BAD_BYTES = [
    (1, 1, b"\xff"),
    (3, 7, b"\xe9"),
    (5, 2, b"\xc0\x80"),
    (6, 4, b"\xed\xa0\x80"),
    (7, 9, b"\xe2\x82"),
    (9, 1, b"\x80"),
    (2, 5, b"\xf8\x88\x80\x80\x80"),
]


def encodings() -> list[Case]:
    cases = []
    for index, (line, column, raw) in enumerate(BAD_BYTES):
        lines = _TEXT.encode().split(b"\n")
        lines[line - 1] = lines[line - 1][: column - 1] + raw + lines[line - 1][column - 1 :]
        cases.append(
            Case(
                f"encoding-{index}",
                {"w.yaml": b"\n".join(lines)},
                at=f"w.yaml:{line}:{column}: ",
                expect="not UTF-8 text",
            )
        )
    wide = "name: \u00e9\u00e9\u00e9".encode() + b"\xff\n"
    cases.append(Case("encoding-after-wide", {"w.yaml": wide}, at="w.yaml:1:10: "))
    cases.append(
        Case("encoding-after-bom", {"w.yaml": b"\xef\xbb\xbfa: 1\nb: \xff\n"}, at="w.yaml:2:4: ")
    )
    cases.append(Case("encoding-utf16", {"w.yaml": _TEXT.encode("utf-16")}, at="w.yaml:1:1: "))
    cases.append(
        Case(
            "encoding-truncated-end",
            {"w.yaml": _TEXT.encode() + b"x: \xe2\x82"},
            expect="not UTF-8 text",
        )
    )
    return cases


TYPE_CASES: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("name",), None, "got null"),
    (("name",), 5, "got an integer (5)"),
    (("name",), True, "got a boolean (true)"),
    (("name",), ["w"], "got a list"),
    (("name",), {"w": 1}, "got a mapping"),
    (("spec",), None, "got null"),
    (("spec",), 5, "got an integer"),
    (("spec",), "x", "got a string"),
    (("spec",), [], "got a list"),
    (("spec", "replicas"), "3", 'got a string ("3")'),
    (("spec", "replicas"), 2.5, "got a number (2.5)"),
    (("spec", "replicas"), True, "got a boolean"),
    (("spec", "replicas"), None, "got null"),
    (("spec", "stack"), 5, "got an integer"),
    (("spec", "compute"), ["a"], "got a list"),
    (("spec", "resources"), "big", "got a string"),
    (("spec", "resources", "requests"), [1], "got a list"),
    (("spec", "stackSpec"), "image: alpine", "got a string"),
    (("description",), {"a": 1}, "got a mapping"),
    (("tags",), "t", "got a string"),
]
TOP_LEVEL = [
    ("5", "got an integer"),
    ("text", "got a string"),
    ("- 1", "got a list"),
    ("true", "got a boolean"),
    ("0.5", "got a number"),
]


def type_words() -> list[Case]:
    cases = [
        one(f"type-{index}", with_value(WORKER, path, value), expect=expected)
        for index, (path, value, expected) in enumerate(TYPE_CASES)
    ]
    cases += [
        Case(
            f"type-top-{index}",
            {"m.yaml": text + "\n"},
            expect=f"a manifest must be a YAML mapping, {expected}",
        )
        for index, (text, expected) in enumerate(TOP_LEVEL)
    ]
    cases.append(
        one(
            "type-crons",
            with_value(SCHEDULED, CRON, "0 * * * *"),
            expect="must be a list, got a string",
        )
    )
    cases.append(
        one(
            "type-dag",
            with_value(WORKFLOW, ("spec", "dag"), {}),
            expect="must be a list, got a mapping",
        )
    )
    cases.append(
        one(
            "type-bundle-resources",
            with_value(BUNDLE, ("bundle", "resources"), None),
            expect="got null",
        )
    )
    return cases


def fixtures() -> list[Case]:
    """The invalid fixtures, the rendering fixtures and the sample repository (valid)."""
    cases = [
        _from_directory(path, valid=False) for path in sorted((FIXTURES / "invalid").iterdir())
    ]
    rendered = sorted((FIXTURES / "render").iterdir())
    cases += [_from_directory(path, valid=True) for path in rendered]
    cases.append(_from_directory(SAMPLE_REPO, valid=True))
    return cases


def _from_directory(root: Any, *, valid: bool) -> Case:
    source = root / "manifests" if (root / "manifests").is_dir() else root
    files: dict[str, str | bytes] = {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
    config = root / "gitops-agent.yaml"
    if source != root and config.is_file():
        files["gitops-agent.yaml"] = config.read_bytes()
    return Case(f"fixture-{root.parent.name}-{root.name}", files, valid=valid)


def all_cases() -> list[Case]:
    """Every hand-written case (the device case only where devices can be made)."""
    return [
        *quantities(),
        *timezones(),
        *crons(),
        *names(),
        *collisions(),
        *bundles(),
        *aliases(),
        *special_files(),
        *characters(),
        *encodings(),
        *type_words(),
        *fixtures(),
    ]
