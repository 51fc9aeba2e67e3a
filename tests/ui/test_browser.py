"""The status page in a real browser (issue 19, acceptance 1): headless Chromium, driven
through its WebDriver, against ``gitops-agent run`` following the sample repository served by
``git daemon`` and applying it to kubesim. The page loads without a console error, shows the
five resources with their states and the Bundle's graph (two nodes, one edge labelled with
its condition); a commit announced by a signed webhook shows up in the recent cycles. A
screenshot is kept in ``build/test-artifacts/`` (or ``$GITOPS_AGENT_ARTIFACTS``).

Chromium and chromedriver come from the system's packages (``scripts/install-browser.sh``,
which ``.ci/run`` calls); without them the test is skipped and says so, except in CI, where
their absence is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gitops_agent.service.webhooks import sign
from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.agent.harness import AgentProcess, ManifestRepo, agent_config

SECRET = "browser-webhook-secret"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

if CHROMIUM is None or DRIVER is None:
    WHY = "Chromium and chromedriver are not installed: scripts/install-browser.sh installs them"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{WHY} (.ci/run should have)", pytrace=False)
    pytest.skip(WHY, allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture
def agent(tmp_path: Path, kubesim: KubeSim) -> Iterator[tuple[AgentProcess, ManifestRepo]]:
    repo = ManifestRepo(tmp_path)
    repo.commit("the sample")
    with GitDaemon(repo.bare.parent) as daemon:
        config = agent_config(
            tmp_path / "agent.yaml",
            url=daemon.url("manifests.git"),
            reporter={"kind": "log"},
            interval="1h",
        )
        data = yaml.safe_load(config.read_text())
        data["reporter"] = {"kind": "log"}
        config.write_text(yaml.safe_dump(data))
        process = AgentProcess(
            config, kubesim.kubeconfig, tmp_path / "cache", {"WEBHOOK_SECRET": SECRET}
        )
        try:
            process.wait_for_line("applied: synced", timeout=90)
            yield process, repo
        finally:
            process.stop()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def push_webhook(url: str, after: str) -> int:
    body = json.dumps({"ref": "refs/heads/main", "after": after}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + sign(SECRET, body),
    }
    request = urllib.request.Request(f"{url}/webhooks/github", body, headers, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def rows(driver: webdriver.Chrome) -> dict[str, tuple[str, str]]:
    found = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#resources tbody tr"):
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        found[f"{cells[0]}/{cells[1]}"] = (cells[2], cells[3])
    return found


def test_the_status_page_in_a_browser(
    agent: tuple[AgentProcess, ManifestRepo], browser: webdriver.Chrome
) -> None:
    process, repo = agent

    def loaded() -> dict[str, tuple[str, str]]:
        browser.get(process.url + "/")
        shown = rows(browser)
        return shown if len(shown) == 5 and shown["worker/sleep-worker"][0] == "active" else {}

    shown = wait_for(loaded, timeout=30, message="the five resources on the page")
    assert shown == {
        "bundle/test-worker-sleep": ("active", ""),
        "worker/events-bento": ("active", "running:1"),
        "worker/report-writer": ("active", "running:1"),
        "worker/sleep-worker": ("active", "running:1"),
        "workflow/verify-sleep-worker": ("active", "succeeded"),
    }
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    nodes = browser.find_elements(By.CSS_SELECTOR, "svg.graph g.node")
    edges = browser.find_elements(By.CSS_SELECTOR, "svg.graph g.edge")
    assert len(nodes) == 2 and len(edges) == 1
    label = edges[0].find_element(By.TAG_NAME, "text").text
    assert "status is active" in label and "runtime contains running" in label

    browser.find_element(By.ID, "filter").send_keys("bento")
    visible = [
        r for r in browser.find_elements(By.CSS_SELECTOR, "#resources tbody tr") if r.is_displayed()
    ]
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in visible] == ["events-bento"]

    def scale(work: Path) -> None:
        path = work / "workers" / "report-writer.yaml"
        path.write_text(path.read_text().replace("replicas: 1", "replicas: 2"))

    second = repo.commit("two report writers", scale)
    assert push_webhook(process.url, second) == 202

    def listed() -> bool:
        browser.get(process.url + "/")
        return second[:12] in browser.find_element(By.ID, "history").text

    wait_for(listed, timeout=60, message="the new commit in the recent cycles")
    history = browser.find_element(By.ID, "history").text
    assert "webhook" in history and "start" in history
    artifacts = Path(os.environ.get("GITOPS_AGENT_ARTIFACTS") or ROOT / "build" / "test-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(artifacts / "status-page.png"))
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
