"""redaction: secrets, URL userinfo and header values never survive into text."""

from __future__ import annotations

import logging

import pytest

from gitops_agent.redaction import MASK, RedactingFilter, SecretRegistry, redact, strip_userinfo


def test_known_secrets_are_masked_longest_first() -> None:
    text = "token abcdef123 and abcdef123456 leaked"
    assert redact(text, ["abcdef123", "abcdef123456"]) == f"token {MASK} and {MASK} leaked"
    assert redact("ab is short", ["ab"]) == "ab is short"


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("fatal: https://bob:hunter22@git.example.com/x.git", "hunter22"),
        ("Authorization: Bearer eyJhbGciOi.xyz", "eyJhbGciOi"),
        ("authorization=token 0123456789abcdef", "0123456789abcdef"),
        ("PRIVATE-TOKEN: glpat-aaaaaaaaaaaaaaaaaaaa", "glpat-aaaa"),
        ("header http.extraHeader=Authorization: Basic eDp5eXl5eXk=", "eDp5eXl5eXk="),
        ("used ghp_abcdefghijklmnopqrstuvwxyz0123 here", "ghp_abcdefghij"),
    ],
)
def test_token_shapes_are_masked_without_knowing_them(text: str, leak: str) -> None:
    masked = redact(text)
    assert leak not in masked
    assert MASK in masked


def test_strip_userinfo_keeps_host_and_path() -> None:
    assert strip_userinfo("https://u:p@host:8443/a/b.git") == "https://host:8443/a/b.git"
    assert strip_userinfo("git@github.com:acme/x.git") == "git@github.com:acme/x.git"
    assert strip_userinfo("/srv/repos/x") == "/srv/repos/x"


def test_logging_filter_masks_message_args_and_exceptions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = SecretRegistry()
    registry.add("topsecretvalue")
    logger = logging.getLogger("test.redaction")
    handler_filter = RedactingFilter(registry)
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("calling with %s", "topsecretvalue")
            try:
                raise RuntimeError("boom topsecretvalue")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.removeFilter(handler_filter)
    assert "topsecretvalue" not in caplog.text
    assert caplog.text.count(MASK) >= 2
