"""The ministry's security engineer signs off a deployment behind a TLS proxy (session 31): the variables of
docs/operations.md, "Behind HTTPS", pass `dancu check --deploy`; plain HTTP is redirected to HTTPS only
when DANCU_HTTPS is on; a request is taken for HTTPS on the proxy's X-Forwarded-Proto only when the
operator says the proxy sets it; a bad value stops the start naming the variable; and the demo, with
nothing set, answers plain HTTP on 127.0.0.1 as before."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
HOST = "dancu.example.vn"


def _documented_production() -> dict[str, str]:
    """The variables the "Behind HTTPS" paragraph tells the operator to set, read from the paragraph itself
    so that the test proves what the operator reads."""
    text = DOCS.read_text()
    paragraph = text[text.index("**Behind HTTPS.**") :]
    block = re.search(r"```sh\n(.*?)```", paragraph, re.DOTALL)
    assert block is not None, "the Behind HTTPS paragraph has no ```sh block of variables"
    pairs = (line.split("=", 1) for line in block.group(1).splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def _run(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A fresh Python process with only `env` and a DANCU_VAR_DIR of its own among the DANCU_ variables, as
    a server started with that environment has."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DANCU_")}
    # The arguments are this module's own literals, never outside input.
    return subprocess.run(  # noqa: S603
        [sys.executable, *args],
        env=clean | {"DANCU_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "dancu.config.settings"} | env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


# Requests through the whole middleware stack of a process started with the environment under test: the
# settings are read once per process, so a request in the test's own process would see the test suite's
# settings, not the operator's. The requests of one environment share a process (each start is seconds on a
# slow machine). No page asked for here touches the database.
_REQUESTS = """
import json, sys
import django
django.setup()
from django.test import Client
answers = []
for path, host, headers in json.loads(sys.argv[1]):
    response = Client(HTTP_HOST=host).get(path, **headers)
    answers.append({
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {name: {"secure": bool(morsel["secure"])} for name, morsel in response.cookies.items()},
    })
print(json.dumps(answers))
"""


def _get_many(
    env: dict[str, str],
    tmp_path: Path,
    paths: list[str],
    *,
    host: str = HOST,
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    asked = [[path, host, headers or {}] for path in paths]
    result = _run({"DANCU_ALLOWED_HOSTS": host} | env, tmp_path, "-c", _REQUESTS, json.dumps(asked))
    assert result.returncode == 0, result.stderr
    answers: list[dict[str, Any]] = json.loads(result.stdout.splitlines()[-1])
    assert len(answers) == len(paths)
    return answers


def _get(
    env: dict[str, str], tmp_path: Path, path: str, *, host: str = HOST, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return _get_many(env, tmp_path, [path], host=host, headers=headers)[0]


FROM_THE_PROXY = {"HTTP_X_FORWARDED_PROTO": "https"}


# The deploy check ------------------------------------------------------------------------------------------


def test_the_documented_production_environment_passes_the_deploy_check(tmp_path: Path) -> None:
    # The secret key is the one variable the paragraph leaves to the operator (the settings table says so).
    env = _documented_production() | {"DANCU_SECRET_KEY": secrets.token_urlsafe(50)}
    assert env["DANCU_HTTPS"] == "1"
    result = _run(
        env,
        tmp_path,
        "-c",
        "from dancu.cli import main; main()",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


# Unset, or left blank in a unit file's template: the question is not answered by either.
@pytest.mark.parametrize(
    "unanswered",
    [{}, {"DANCU_HSTS_INCLUDE_SUBDOMAINS": "", "DANCU_HSTS_PRELOAD": ""}],
    ids=["unset", "blank"],
)
def test_the_deploy_check_still_asks_about_subdomains_and_preloading_until_the_operator_answers(
    unanswered: dict[str, str], tmp_path: Path
) -> None:
    env = {
        "DANCU_SECRET_KEY": secrets.token_urlsafe(50),
        "DANCU_ALLOWED_HOSTS": HOST,
        "DANCU_HTTPS": "1",
        "DANCU_HSTS_SECONDS": "3600",
    } | unanswered
    result = _run(env, tmp_path, "-c", "from dancu.cli import main; main()", "check", "--deploy")
    assert "security.W005" in result.stderr
    assert "security.W021" in result.stderr


# The redirect and the proxy's header -----------------------------------------------------------------------


def test_a_plain_http_request_is_redirected_to_https_only_when_the_switch_is_on(tmp_path: Path) -> None:
    assert _get({}, tmp_path, "/login/")["status"] == 200
    redirected, api = _get_many({"DANCU_HTTPS": "1"}, tmp_path, ["/login/", "/api/v1/citizens"])
    assert redirected["status"] == 301
    assert redirected["headers"]["Location"] == f"https://{HOST}/login/"
    assert api["status"] == 301
    assert api["headers"]["Location"] == f"https://{HOST}/api/v1/citizens"


def test_a_probe_over_plain_http_reaches_the_health_endpoints_under_the_switch(tmp_path: Path) -> None:
    # A load balancer probes the node by its own address over plain HTTP; a redirect would read as a
    # failure. (The database of this process is not prepared, so /readyz/ answers 500: not a redirect.)
    paths = ["/healthz/", "/readyz/", "/status/"]
    for path, answer in zip(paths, _get_many({"DANCU_HTTPS": "1"}, tmp_path, paths), strict=True):
        assert answer["status"] in {200, 500}, path
        assert "Location" not in answer["headers"], path


def test_the_proxys_header_is_trusted_only_when_the_operator_says_the_proxy_sets_it(tmp_path: Path) -> None:
    https = {"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "3600"}
    # Not trusted: a client's own "X-Forwarded-Proto: https" over plain HTTP does not make it HTTPS.
    claimed = _get(https, tmp_path, "/login/", headers=FROM_THE_PROXY)
    assert claimed["status"] == 301
    assert "Strict-Transport-Security" not in claimed["headers"]

    trusted = _get(
        https | {"DANCU_TRUST_X_FORWARDED_PROTO": "1"}, tmp_path, "/login/", headers=FROM_THE_PROXY
    )
    assert trusted["status"] == 200
    assert trusted["headers"]["Strict-Transport-Security"] == "max-age=3600"
    assert trusted["cookies"]["csrftoken"]["secure"] is True


def test_hsts_carries_subdomains_and_preload_only_when_asked(tmp_path: Path) -> None:
    proxied = {"DANCU_HTTPS": "1", "DANCU_TRUST_X_FORWARDED_PROTO": "1", "DANCU_HSTS_SECONDS": "31536000"}
    plain = _get(proxied, tmp_path, "/login/", headers=FROM_THE_PROXY)
    assert plain["headers"]["Strict-Transport-Security"] == "max-age=31536000"
    asked = proxied | {"DANCU_HSTS_INCLUDE_SUBDOMAINS": "1", "DANCU_HSTS_PRELOAD": "1"}
    full = _get(asked, tmp_path, "/login/", headers=FROM_THE_PROXY)
    assert full["headers"]["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_secure_cookies_alone_keeps_working_as_before(tmp_path: Path) -> None:
    # An installation that set only DANCU_SECURE_COOKIES=1 (the advice before session 31): its cookies are
    # sent over HTTPS only, and nothing is redirected that was not before.
    answer = _get({"DANCU_SECURE_COOKIES": "1"}, tmp_path, "/login/")
    assert answer["status"] == 200
    assert answer["cookies"]["csrftoken"]["secure"] is True
    assert "Strict-Transport-Security" not in answer["headers"]


# The demo ------------------------------------------------------------------------------------------------


def test_the_demo_with_nothing_set_answers_plain_http_with_its_cookies_and_headers_as_before(
    tmp_path: Path,
) -> None:
    result = _run(
        {},
        tmp_path,
        "-c",
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, s.SILENCED_SYSTEM_CHECKS]))",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, None, 0, False, False, ["axes.W006"]]
    for answer in _get_many({}, tmp_path, ["/login/", "/api/v1/citizens"], host="127.0.0.1"):
        assert answer["status"] in {200, 401}
        assert "Strict-Transport-Security" not in answer["headers"]
        assert all(not cookie["secure"] for cookie in answer["cookies"].values())
        # The headers Django's own settings give every answer, a page's and the API's alike.
        assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
        assert answer["headers"]["Referrer-Policy"] == "same-origin"
        assert answer["headers"]["X-Frame-Options"] == "DENY"
        assert answer["headers"]["Cross-Origin-Opener-Policy"] == "same-origin"


# Bad values ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DANCU_HTTPS": "sometimes"}, "DANCU_HTTPS='sometimes' is not a boolean"),
        (
            {"DANCU_TRUST_X_FORWARDED_PROTO": "nginx"},
            "DANCU_TRUST_X_FORWARDED_PROTO='nginx' is not a boolean",
        ),
        ({"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "1y"}, "DANCU_HSTS_SECONDS='1y' is not a whole number"),
        (
            {"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "-1"},
            "DANCU_HSTS_SECONDS='-1' must be from 0 to 63072000",
        ),
        (
            {"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "63072001"},
            "DANCU_HSTS_SECONDS='63072001' must be from 0 to 63072000",
        ),
        (
            {"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "3600", "DANCU_HSTS_INCLUDE_SUBDOMAINS": "all"},
            "DANCU_HSTS_INCLUDE_SUBDOMAINS='all' is not a boolean",
        ),
        (
            {"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "3600", "DANCU_HSTS_PRELOAD": "please"},
            "DANCU_HSTS_PRELOAD='please' is not a boolean",
        ),
        # HSTS is sent only over HTTPS: set without the switch it would never be sent.
        ({"DANCU_HSTS_SECONDS": "3600"}, "DANCU_HSTS_SECONDS=3600 needs DANCU_HTTPS=1"),
        (
            {"DANCU_HTTPS": "1", "DANCU_HSTS_INCLUDE_SUBDOMAINS": "1"},
            "DANCU_HSTS_INCLUDE_SUBDOMAINS and DANCU_HSTS_PRELOAD need DANCU_HSTS_SECONDS",
        ),
        # The preload list refuses a host without its subdomains or for less than a year.
        (
            {"DANCU_HTTPS": "1", "DANCU_HSTS_SECONDS": "31536000", "DANCU_HSTS_PRELOAD": "1"},
            "DANCU_HSTS_PRELOAD is on, but the preload list needs DANCU_HSTS_INCLUDE_SUBDOMAINS=1",
        ),
        (
            {
                "DANCU_HTTPS": "1",
                "DANCU_HSTS_SECONDS": "3600",
                "DANCU_HSTS_INCLUDE_SUBDOMAINS": "1",
                "DANCU_HSTS_PRELOAD": "1",
            },
            "DANCU_HSTS_SECONDS of at least 31536000",
        ),
        # The session cookie would travel over plain HTTP on a site that otherwise insists on HTTPS.
        (
            {"DANCU_HTTPS": "1", "DANCU_SECURE_COOKIES": "0"},
            "DANCU_SECURE_COOKIES is off but DANCU_HTTPS is on",
        ),
    ],
)
def test_a_bad_https_setting_stops_the_start_naming_the_variable(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = _run(env, tmp_path, "-c", "from dancu.cli import main; main()", "check")
    assert result.returncode == 2
    assert message in result.stderr
