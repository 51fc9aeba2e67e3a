"""Hypothesis strategies that build corpus cases of each class, bad ones and valid controls.

Each strategy draws a ``Case`` whose answer is known by construction (a range drawn
backwards is bad, one drawn in order inside the field is good), so the test needs no
second implementation of the rules. Used by ``tests/core/test_bad_input_corpus.py``.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from hypothesis import strategies as st

from tests.core.corpus.cases import SCHEDULED, WORKER, Case, dump, one, with_value, without
from tests.core.corpus.handwritten import CRON, REQUEST_CPU, TIMEZONE

DNS_LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_SUFFIXES = ["Ki", "Mi", "Gi", "Ti", "Pi", "m", "k", "M", "G", "T", "P", ""]


@st.composite
def bad_quantities(draw: st.DrawFn) -> Case:
    value = draw(
        st.one_of(
            st.integers(max_value=-1),
            st.floats(max_value=-1e-12, allow_infinity=True),
            st.sampled_from([float("nan"), float("inf"), float("-inf")]),
            st.builds(lambda d, e: f"{d}e{e}", st.integers(1, 9), st.integers(31, 10**12)),
            st.builds(lambda d, e: f"{d}e-{e}", st.integers(1, 9), st.integers(31, 10**12)),
            st.builds(lambda n: "1" * n, st.integers(65, 6000)),
            st.builds(
                lambda q, s: q + s,
                st.sampled_from(["50m", "1Gi", "2"]),
                st.sampled_from(["\n", " ", "\t", "x"]),
            ),
        )
    )
    return one("hypothesis-bad-quantity", with_value(WORKER, REQUEST_CPU, value), at="m.yaml:")


@st.composite
def good_quantities(draw: st.DrawFn) -> Case:
    number = draw(st.integers(0, 999))
    fraction = draw(st.sampled_from(["", ".5", ".25", "."]))
    value = f"{number}{fraction}{draw(st.sampled_from(_SUFFIXES))}"
    unlimited = without(WORKER, ("spec", "resources", "limits"))
    return one("hypothesis-good-quantity", with_value(unlimited, REQUEST_CPU, value), valid=True)


_BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


@st.composite
def _ordered_item(draw: st.DrawFn, low: int, high: int) -> str:
    start = draw(st.integers(low, high))
    end = draw(st.integers(start, high))
    form = draw(st.sampled_from(["value", "range", "step", "star-step", "star"]))
    step = draw(st.integers(1, 100))
    return {
        "value": f"{start}",
        "range": f"{start}-{end}",
        "step": f"{start}-{end}/{step}",
        "star-step": f"*/{step}",
        "star": "*",
    }[form]


@st.composite
def good_crons(draw: st.DrawFn) -> Case:
    fields = [
        ",".join(draw(st.lists(_ordered_item(low, high), min_size=1, max_size=3)))
        for low, high in _BOUNDS
    ]
    return one("hypothesis-good-cron", with_value(SCHEDULED, CRON, [" ".join(fields)]), valid=True)


@st.composite
def bad_crons(draw: st.DrawFn) -> Case:
    fields = [draw(_ordered_item(low, high)) for low, high in _BOUNDS]
    index = draw(st.integers(0, 4))
    low, high = _BOUNDS[index]
    start = draw(st.integers(low + 1, high))
    bad = draw(
        st.sampled_from(
            [
                f"{start}-{draw(st.integers(low, start - 1))}",
                f"{high + draw(st.integers(1, 10**30))}",
                f"*/{'9' * draw(st.integers(19, 5000))}",
                f"{start}/0",
                f"{start},,{high}",
            ]
        )
    )
    fields[index] = bad
    return one(
        "hypothesis-bad-cron", with_value(SCHEDULED, CRON, [" ".join(fields)]), at="m.yaml:7:"
    )


_ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "posixrules"})
_DIRECTORIES = sorted({zone.rsplit("/", 1)[0] for zone in _ZONES if "/" in zone} - set(_ZONES))


@st.composite
def timezones(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):
        zone = draw(st.sampled_from(_ZONES))
        return one("hypothesis-good-timezone", with_value(SCHEDULED, TIMEZONE, zone), valid=True)
    zone = draw(
        st.one_of(
            st.sampled_from(_DIRECTORIES),
            st.builds(
                lambda z, s: z + s,
                st.sampled_from(_ZONES),
                st.sampled_from(["/", "\n", " ", "/x", ".."]),
            ),
            st.text(
                st.characters(codec="ascii", exclude_characters="\x00"), min_size=300, max_size=3000
            ),
        )
    )
    return one("hypothesis-bad-timezone", with_value(SCHEDULED, TIMEZONE, zone), at="m.yaml:8:5: ")


@st.composite
def bad_names(draw: st.DrawFn) -> Case:
    from tests.core.corpus.handwritten import NAME_FIELDS

    _, base, path = draw(st.sampled_from(NAME_FIELDS))
    name = draw(DNS_LABEL) + draw(
        st.sampled_from(["\n", "\r", " ", "\t", "\n\n", "\r\n", "\u2028"])
    )
    return one("hypothesis-bad-name", with_value(base, path, name), at="m.yaml:")


@st.composite
def bad_characters(draw: st.DrawFn) -> Case:
    text = dump(
        with_value(
            WORKER,
            ("description",),
            draw(st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=40)),
        )
    )
    lines = text.split("\n")
    line = draw(st.integers(1, len(lines) - 1))
    column = draw(st.integers(1, len(lines[line - 1]) + 1))
    char = draw(
        st.sampled_from(
            [
                chr(c)
                for c in [
                    *range(0, 9),
                    11,
                    12,
                    *range(14, 32),
                    127,
                    *range(128, 133),
                    *range(134, 160),
                ]
            ]
            + ["\ufffe", "\uffff"]
        )
    )
    row = lines[line - 1]
    lines[line - 1] = row[: column - 1] + char + row[column - 1 :]
    return Case(
        "hypothesis-bad-character", {"w.yaml": "\n".join(lines)}, at=f"w.yaml:{line}:{column}: "
    )


@st.composite
def bad_bytes(draw: st.DrawFn) -> Case:
    text = dump(
        with_value(
            WORKER,
            ("description",),
            draw(st.text(st.characters(codec="utf-8", categories=["L", "N"]), max_size=30)),
        )
    )
    lines = text.split("\n")
    line = draw(st.integers(1, len(lines) - 1))
    column = draw(st.integers(1, len(lines[line - 1]) + 1))
    raw = draw(
        st.sampled_from(
            [b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf"]
        )
    )
    row = lines[line - 1]
    encoded = [item.encode() for item in lines]
    encoded[line - 1] = row[: column - 1].encode() + raw + row[column - 1 :].encode()
    return Case(
        "hypothesis-bad-bytes", {"w.yaml": b"\n".join(encoded)}, at=f"w.yaml:{line}:{column}: "
    )


@st.composite
def alias_text(draw: st.DrawFn) -> Case:
    anchor = draw(st.integers(10_000, 400_000))
    aliases = (2 * 1024 * 1024) // anchor + draw(st.integers(1, 50))
    text = dump(WORKER).replace(
        "version: v2alpha", f"version: v2alpha\ndescription: &a {'y' * anchor}"
    )
    text = text.replace("- sleep 3600", "- sleep 3600\n" + "    - *a\n" * aliases)
    return Case(
        "hypothesis-alias-text", {"w.yaml": text}, expect="characters of text (alias bomb?)"
    )


@st.composite
def collisions(draw: st.DrawFn) -> Case:
    from tests.core.corpus.handwritten import _files_step, _files_worker, _in

    name = draw(DNS_LABEL)
    if draw(st.booleans()):
        files = {"a.yaml": dump(_files_worker(name)), "b.yaml": dump(_files_step(name))}
        return Case(
            "hypothesis-collision", files, expect=f"ConfigMap/public/{name}-files would also"
        )
    first, second = draw(st.lists(DNS_LABEL, min_size=2, max_size=2, unique=True))
    namespace = draw(DNS_LABEL)
    config = dump({"target": {"workspaces": {first: namespace, second: namespace}}})
    worker: dict[str, Any] = with_value(WORKER, ("name",), name)
    files = {
        "gitops-agent.yaml": config,
        "a.yaml": dump(_in(first, worker)),
        "b.yaml": dump(_in(second, worker)),
    }
    return Case("hypothesis-collision", files, expect=f"Deployment/{namespace}/{name} would also")


#: Every strategy with how many examples it runs.
STRATEGIES = {
    "bad-quantities": (bad_quantities(), 40),
    "good-quantities": (good_quantities(), 20),
    "bad-crons": (bad_crons(), 40),
    "good-crons": (good_crons(), 20),
    "timezones": (timezones(), 30),
    "bad-names": (bad_names(), 40),
    "bad-characters": (bad_characters(), 30),
    "bad-bytes": (bad_bytes(), 25),
    "alias-text": (alias_text(), 8),
    "collisions": (collisions(), 20),
}
