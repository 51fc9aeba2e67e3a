"""sources.urls: which repository URLs and refs reach git, and what a refusal says."""

from __future__ import annotations

import pytest

from gitops_agent.errors import ConfigError
from gitops_agent.redaction import quoted
from gitops_agent.sources.urls import ACCEPTED, UrlKind, check_ref, classify

TOKEN = "ghp_" + "t0ken" * 8


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://git.example.com/org/manifests.git", UrlKind.HTTPS),
        ("HTTPS://git.example.com/org/manifests.git", UrlKind.HTTPS),
        ("http://127.0.0.1:8080/manifests.git", UrlKind.HTTP),
        ("https://[::1]:8443/x.git", UrlKind.HTTPS),
        ("ssh://git@git.example.com:2222/org/manifests.git", UrlKind.SSH),
        ("git+ssh://git.example.com/org/manifests.git", UrlKind.SSH),
        ("git@github.com:org/manifests.git", UrlKind.SCP),
        ("github.com:org/manifests.git", UrlKind.SCP),
        ("git://127.0.0.1:9418/manifests", UrlKind.GIT),
        ("file:///srv/git/manifests.git", UrlKind.FILE),
        ("file://localhost/srv/git/manifests.git", UrlKind.FILE),
        ("/srv/git/manifests.git", UrlKind.LOCAL),
        ("./-starts-with-a-dash", UrlKind.LOCAL),
        ("relative/dir with space", UrlKind.LOCAL),
        ("~/manifests", UrlKind.LOCAL),
    ],
)
def test_accepted_urls_are_classified_as_git_reads_them(url: str, kind: UrlKind) -> None:
    assert classify(url) is kind


HOSTILE = {
    "--upload-pack=:;touch MARKER;": "starts with '-'",
    "--upload-pack=touch MARKER;:": "starts with '-'",
    "-c": "starts with '-'",
    "-cprotocol.ext.allow=always": "starts with '-'",
    "--config=core.sshCommand=touch MARKER": "starts with '-'",
    "--template=/tmp/evil-hooks": "starts with '-'",
    "-oProxyCommand=touch MARKER:x": "starts with '-'",
    "ext::sh -c touch% MARKER": "remote-helper transport",
    "ext::sh -c 'touch MARKER'": "remote-helper transport",
    "fd::0": "remote-helper transport",
    "evil://host/x": "scheme 'evil://'",
    "ftp://host/x": "scheme 'ftp://'",
    "ssh://-oProxyCommand=touch%20MARKER/x": "no valid host",
    "ssh://git@-oProxyCommand=x/y": "no valid host",
    "git@-oProxyCommand=touch MARKER:x": "not a valid user@host:path",
    "-user@host:x": "starts with '-'",
    "host:--upload-pack=touch MARKER": "starting with '-'",
    "host:": "names no repository path",
    "https:///x": "no valid host",
    "https://host:99999/x": "not a valid URL",
    "file://": "is not file:///absolute/path",
    "file://--upload-pack=touch%20MARKER/x": "is not file:///absolute/path",
    "file://host/x": "is not file:///absolute/path",
    "https://h/x\nINFO forged log line": "control character U+000A",
    "https://h/x\r": "control character U+000D",
    "https://h/\x1b[31mred": "control character U+001B",
    "https://h/\x00": "control character U+0000",
    "/srv/\u202egit": "control character U+202E",
    "https://h/" + "a" * 3000: "3010 characters long (at most 2048)",
    " ": "is empty",
    "": "is empty",
}


@pytest.mark.parametrize("url", sorted(HOSTILE))
def test_hostile_urls_are_refused_naming_the_value_and_what_is_accepted(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        classify(url, what="SOURCE")
    message = str(refused.value)
    assert message.startswith("SOURCE ")
    assert HOSTILE[url] in message
    assert ACCEPTED in message
    if url.strip():
        assert quoted(url) in message
    assert "\n" not in message and "\x1b" not in message
    assert len(message) < 600


@pytest.mark.parametrize(
    "url",
    [
        f"https://{TOKEN}@git.example.com/org/x.git",
        f"https://x-access-token:{TOKEN}@git.example.com/org/x.git",
        f"http://user:{TOKEN}@127.0.0.1/x.git",
        f"ssh://git:{TOKEN}@git.example.com/x.git",
        f"git://{TOKEN}@git.example.com/x.git",
    ],
)
def test_credentials_in_a_url_are_refused_without_showing_them(url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        classify(url)
    message = str(refused.value)
    assert TOKEN not in message
    assert "source.tokenEnv" in message
    assert "source.auth" not in message
    assert "***@" in message


@pytest.mark.parametrize("ref", ["main", "v1.0", "feature/x-1", "refs/pull/7/head", "a" * 40])
def test_plausible_refs_are_accepted(ref: str) -> None:
    check_ref(ref)


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("--foo", "starts with '-'"),
        ("--upload-pack=touch MARKER", "starts with '-'"),
        ("-b", "starts with '-'"),
        ("main\n", "control character U+000A"),
        ("ma\tin", "control character U+0009"),
        ("a b", "not a valid git ref name"),
        ("a..b", "not a valid git ref name"),
        ("a@{1}", "not a valid git ref name"),
        ("HEAD~1", "not a valid git ref name"),
        ("x:y", "not a valid git ref name"),
        ("refs//heads", "not a valid git ref name"),
        (".hidden", "not a valid git ref name"),
        ("branch.lock", "not a valid git ref name"),
        ("trailing/", "not a valid git ref name"),
        ("@", "not a valid git ref name"),
        ("r" * 2000, "2000 characters long (at most 1024)"),
        ("", "is empty"),
    ],
)
def test_hostile_refs_are_refused(ref: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_ref(ref, what="--ref")
    message = str(refused.value)
    assert message.startswith("--ref ") and reason in message
    assert "branch or tag name" in message


def test_quoted_masks_escapes_and_cuts() -> None:
    assert quoted(f"https://u:{TOKEN}@h/x") == "'https://***@h/x'"
    assert quoted("a\nb") == "'a\\nb'"
    long = quoted("x" * 500)
    assert long.endswith("... (500 characters)") and len(long) < 160
