"""Same input, same bytes: rendering does not depend on file order, key order or runs."""

from __future__ import annotations

import json

from gitops_agent.core.rendering import kubernetes, output
from gitops_agent.core.rendering.objects import RenderSettings
from tests.rendering.helpers import FIXTURES, REVISION, evaluate, render_files

WORKER = """\
version: v2alpha
name: ordered
type: worker
spec:
  compute: runnable-default
  replicas: 2
  stack: bento
  stackSpec:
    input: {generate: {interval: 1s, mapping: 'root = 1'}}
    output: {stdout: {codec: lines}}
  use:
    projection:
      projections:
        files:
          - {name: a.txt, directory: /etc/a, template: a}
"""

# The same Worker with every mapping written in another key order.
REORDERED = """\
spec:
  use:
    projection:
      projections:
        files:
          - {template: a, directory: /etc/a, name: a.txt}
  stackSpec:
    output: {stdout: {codec: lines}}
    input: {generate: {mapping: 'root = 1', interval: 1s}}
  stack: bento
  replicas: 2
  compute: runnable-default
type: worker
name: ordered
version: v2alpha
"""


def text_of(files: dict[str, str]) -> str:
    return output.to_yaml(render_files(files).objects())


def test_key_order_of_the_manifest_does_not_matter() -> None:
    assert text_of({"w.yaml": WORKER}) == text_of({"w.yaml": REORDERED})


def test_file_order_of_the_tree_does_not_matter() -> None:
    names = [f"w{index}.yaml" for index in range(5)]
    files = {name: WORKER.replace("ordered", name[:-5]) for name in names}
    assert text_of(files) == text_of(dict(reversed(list(files.items()))))


def test_rendering_twice_gives_the_same_bytes_and_keys_are_sorted() -> None:
    result = evaluate({"w.yaml": WORKER})
    runs = [
        kubernetes.render(result.resources, RenderSettings(), revision=REVISION) for _ in range(2)
    ]
    texts = [output.to_json(rendered.objects()) for rendered in runs]
    assert texts[0] == texts[1]
    assert json.dumps(json.loads(texts[0]), indent=2, sort_keys=True) + "\n" == texts[0]
    as_built = json.dumps([obj.body for obj in runs[0].objects()], indent=2) + "\n"
    assert as_built != texts[0]  # metadata is built name first, written sorted


def test_goldens_are_sorted_yaml() -> None:
    golden = (FIXTURES / "worker-minimal" / "expected.yaml").read_text()
    top_keys = [line.split(":")[0] for line in golden.splitlines() if line[:1].isalpha()]
    assert top_keys == sorted(top_keys)
