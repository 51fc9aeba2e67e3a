"""Generates ``protofields.py``, the protobuf field table of the served kinds, from the Go types.

The Kubernetes protobuf encoding (go-to-protobuf) is declared on each Go struct field: its
``protobuf:"bytes,2,rep,name=containers"`` tag gives the field number and wire type, its
``json`` tag the JSON name and ``omitempty``, its Go type whether it is a pointer, a slice, a
map or another struct. This reads the ``types.go`` of k8s.io/api (core, apps, batch,
coordination, events, autoscaling v1) and of apimachinery's meta/v1, keeps the structs the
served kinds reach, and writes them as one string per message. Run by hand when the served
kinds change, from checkouts of the two repositories at the tag of ``schema.SCHEMA_VERSION``::

    python gitops_agent/testing/kubesim/protogen.py API_DIR APIMACHINERY_DIR > /tmp/fields.py
    mv /tmp/fields.py gitops_agent/testing/kubesim/protofields.py && ruff format ...protofields.py
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGES = {  # package key: path of its types.go under the k8s.io/api checkout
    "core": "core/v1/types.go",
    "apps": "apps/v1/types.go",
    "batch": "batch/v1/types.go",
    "coordination": "coordination/v1/types.go",
    "events": "events/v1/types.go",
    "autoscaling": "autoscaling/v1/types.go",
}
IMPORTS = {
    "k8s.io/api/core/v1": "core",
    "k8s.io/apimachinery/pkg/apis/meta/v1": "meta",
    "k8s.io/apimachinery/pkg/runtime": "runtime",
    "k8s.io/apimachinery/pkg/util/intstr": "intstr",
    "k8s.io/apimachinery/pkg/api/resource": "resource",
    "k8s.io/apimachinery/pkg/types": "types",
}
SPECIAL = (  # messages with their own JSON form (decoded by name)
    "meta.Time",
    "meta.MicroTime",
    "meta.Duration",
    "meta.FieldsV1",
    "runtime.RawExtension",
    "intstr.IntOrString",
    "resource.Quantity",
)
ROOTS = (
    "core.Namespace",
    "core.ConfigMap",
    "core.Secret",
    "core.PersistentVolumeClaim",
    "core.Pod",
    "core.Service",
    "core.Event",
    "apps.Deployment",
    "apps.StatefulSet",
    "apps.ReplicaSet",
    "apps.ControllerRevision",
    "batch.Job",
    "batch.CronJob",
    "coordination.Lease",
    "events.Event",
    "autoscaling.Scale",
    "meta.DeleteOptions",
)
_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([^\s`]+)\s+`([^`]*)`")
_TAG = re.compile(r'(\w+):"([^"]*)"')


@dataclass(frozen=True)
class Field:
    """One Go struct field that protobuf encodes."""

    number: int
    json: str
    go_type: str
    omitempty: bool
    inline: bool


@dataclass
class Package:
    """The structs and named types of one Go package, and its import aliases."""

    key: str
    structs: dict[str, list[Field]]
    named: dict[str, str]
    aliases: dict[str, str]


def parse(key: str, text: str) -> Package:
    """The protobuf-tagged fields of every struct of a types.go, and its named types."""
    aliases = {"types": "types"}
    for alias, path in re.findall(r'^\s*(\w+)?\s*"(k8s\.io/[^"]+)"', text, re.MULTILINE):
        if path in IMPORTS:
            aliases[alias or path.rsplit("/", 1)[-1]] = IMPORTS[path]
    structs: dict[str, list[Field]] = {}
    named = dict(re.findall(r"^type (\w+) ((?!struct)\S+)\s*$", text, re.MULTILINE))
    for name, body in re.findall(
        r"^type (\w+) struct \{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL
    ):
        structs[name] = [f for f in (_field(line) for line in body.splitlines()) if f]
    return Package(key, structs, named, aliases)


def _field(line: str) -> Field | None:
    match = _FIELD.match(line)
    if match is None or line.strip().startswith("//"):
        return None
    go_type, tags = match.group(2), dict(_TAG.findall(match.group(3)))
    proto, json_tag = tags.get("protobuf", ""), tags.get("json", "")
    if not proto or json_tag.startswith("-"):
        return None
    json_name, _, options = json_tag.partition(",")
    return Field(
        int(proto.split(",")[1]),
        json_name,
        go_type,
        "omitempty" in options.split(","),
        not json_name,  # an embedded struct without a JSON name is inlined
    )


class Generator:
    """Resolves Go types across packages and writes the field table."""

    def __init__(self, packages: dict[str, Package]) -> None:
        self.packages = packages
        self.done: dict[str, list[str]] = {}

    def qualify(self, package: Package, name: str) -> str:
        if "." in name:
            alias, _, rest = name.partition(".")
            return f"{package.aliases.get(alias, alias)}.{rest}"
        return f"{package.key}.{name}"

    def kind(self, package: Package, go_type: str) -> tuple[str, bool]:
        """The table's type of a Go type (s, b, i, f, d, a message, ``M<value>``) and whether
        it is repeated (a slice or a map, named or not)."""
        go_type = go_type.lstrip("*")
        if go_type.startswith("[]") and go_type != "[]byte":
            return self.kind(package, go_type[2:])[0], True
        if go_type == "[]byte":
            return "b", False
        if go_type.startswith("map["):
            value = go_type[go_type.index("]") + 1 :]
            return "M" + self.kind(package, value)[0], True
        basic = {"string": "s", "bool": "f", "float64": "d", "float32": "d"}
        if go_type in basic:
            return basic[go_type], False
        if re.fullmatch(r"u?int(8|16|32|64)?", go_type):
            return "i", False
        name = self.qualify(package, go_type)
        if name in SPECIAL:
            return name, False
        if name == "types.UID":
            return "s", False
        owner = self.packages.get(name.split(".")[0])
        local = name.split(".", 1)[1]
        if owner is not None and local in owner.named:
            return self.kind(owner, owner.named[local])
        self.visit(name)
        return name, False

    def visit(self, name: str) -> None:
        if name in self.done or name in SPECIAL:
            return
        key, _, local = name.partition(".")
        package = self.packages[key]
        self.done[name] = []
        specs = []
        for f in package.structs[local]:
            kind, repeated = self.kind(package, f.go_type)
            flags = "".join(
                flag
                for flag, on in (
                    ("r", repeated),
                    ("p", f.go_type.startswith("*")),
                    ("o", f.omitempty),
                    ("n", f.inline),
                )
                if on
            )
            specs.append(f"{f.number} {f.json or '-'} {kind} {flags or '-'}")
        self.done[name] = specs


def render(done: dict[str, list[str]]) -> str:
    lines = [
        '"""The protobuf fields of the served kinds (generated by ``protogen.py``; do not edit).',
        "",
        "Each message is ``number jsonName type flags`` per field, ``;``-separated: type ``s``",
        "string, ``b`` bytes, ``i`` integer, ``f`` bool, ``d`` double, ``M<type>`` a map of",
        "string to it, else a message; flags ``r`` repeated, ``p`` pointer, ``o`` omitempty,",
        "``n`` inline, ``-`` none. Read by ``protowire.py``.",
        '"""',
        "",
        "MESSAGES: dict[str, str] = {",
    ]
    for name in sorted(done):
        text = "".join(spec + ";" for spec in done[name])
        chunks = [text[i : i + 84] for i in range(0, len(text), 84)]
        lines.append(f'    "{name}": (')
        lines.extend(f'        "{chunk}"' for chunk in chunks)
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    api, machinery = Path(argv[0]), Path(argv[1])
    packages = {key: parse(key, (api / path).read_text()) for key, path in PACKAGES.items()}
    meta = (machinery / "pkg/apis/meta/v1/types.go").read_text()
    packages["meta"] = parse("meta", meta)
    generator = Generator(packages)
    for root in ROOTS:
        generator.visit(root)
    sys.stdout.write(render(generator.done))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
