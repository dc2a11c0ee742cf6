"""deploy/: the systemd units, the proxy configurations, the env file and the guide.

The units are parsed here and the commands they (and deploy/GUIDE.md) run are parsed
by the real CLI, options and values; the settings the guide writes are loaded by the
real settings loader. Where the tools exist, `systemd-analyze verify` and `security`
check the units, `caddy validate` the Caddyfile and `nginx -t` the nginx snippet;
without them those tests skip, saying so.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from conftest import REPO
from typer.main import get_command

from newsletter.cli import app
from newsletter.project import STATE_URL_ENV
from newsletter.settings import (
    SendgridSettings,
    SmtpSettings,
    UnsubscribeSettings,
    load_settings,
)
from newsletter.state import is_postgres_url

DEPLOY = REPO / "deploy"
GUIDE = DEPLOY / "GUIDE.md"
PROJECT = "/srv/newsletter"
PROGRAM = f"{PROJECT}/.venv/bin/newsletter"
ENV_FILE = "/etc/newsletter/env"
SERVE, CRON, TIMER = "newsletter-serve.service", "newsletter-cron.service", "newsletter-cron.timer"
SERVICES = (SERVE, CRON)
UNITS = (*SERVICES, TIMER)
EVERY_MINUTE = {"*-*-* *:*:00", "*:*:00", "*:*", "minutely"}
Unit = dict[str, dict[str, list[str]]]


def read_unit(text: str) -> Unit:
    """A unit file as systemd reads it: each section's keys with every value given,
    in order (a key may repeat; an empty value is kept, as the reset it is), without
    comments and blank lines, with backslash continuations joined."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    logical = re.sub(r"\\\n", " ", text)
    for number, raw in enumerate(logical.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        assert equals and section is not None, f"line {number}: {raw!r} is not KEY=value"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def unit(name: str) -> Unit:
    return read_unit((DEPLOY / name).read_text())


def one(found: Unit, section: str, key: str) -> str:
    values = found.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}= given {len(values)} times: {values}"
    return values[0]


def words(found: Unit, section: str, key: str) -> list[str]:
    """A list setting's words, over all its lines (an empty line resets it)."""
    result: list[str] = []
    for value in found.get(section, {}).get(key, []):
        result = result + value.split() if value else []
    return result


def is_yes(value: str) -> bool:
    return value.lower() in ("yes", "true", "on", "1")


def parse_command(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse a `newsletter ...` command line (without the program) as the real CLI
    does, options and their values, without running it: the command's name and the
    parameters it would get. A wrong command, option or value fails the test."""
    command: Any = get_command(app)
    rest, names = list(argv), []
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        names.append(rest[0])
        command = command.commands[rest.pop(0)]
    name = " ".join(names)
    assert names and not hasattr(command, "commands"), f"no such command: newsletter {argv}"
    known = sorted({opt for p in command.params for opt in (*p.opts, *p.secondary_opts)})
    for word in rest:
        option = word.split("=", 1)[0]
        if option.startswith("-") and option != "-":
            assert option in known, f"newsletter {name}: no option {option} (it has {known})"
    try:
        with command.make_context(f"newsletter {name}", rest) as context:
            return name, dict(context.params)
    except Exception as exc:  # click's usage errors: a bad value, a missing argument
        pytest.fail(f"newsletter {name} {shlex.join(rest)}: {exc}")


def exec_start(found: Unit) -> list[str]:
    lines = [v for v in found["Service"]["ExecStart"] if v]  # "" resets (a drop-in's)
    assert len(lines) == 1, lines
    return shlex.split(lines[0])


# --- the units ---------------------------------------------------------------------


def test_the_units_parse_and_share_user_folder_and_secrets():
    for name in SERVICES:
        found = unit(name)
        assert set(found) >= {"Unit", "Service"}, name
        assert one(found, "Service", "User") == one(found, "Service", "Group") == "newsletter"
        assert one(found, "Service", "WorkingDirectory") == PROJECT
        assert one(found, "Service", "EnvironmentFile") == ENV_FILE
        assert "network-online.target" in words(found, "Unit", "After")
    assert one(unit(CRON), "Service", "Type") == "oneshot"
    assert one(unit(SERVE), "Service", "Restart") == "on-failure"
    assert one(unit(SERVE), "Install", "WantedBy") == "multi-user.target"


@pytest.mark.parametrize("name", SERVICES)
def test_exec_start_is_a_real_newsletter_command(name):
    argv = exec_start(unit(name))
    assert argv[0] == PROGRAM
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert Path(argv[0]).name in scripts  # the venv's console script
    command, params = parse_command(argv[1:])
    assert command == {SERVE: "serve", CRON: "cron"}[name]
    assert str(params["project"]) == PROJECT


def test_serve_listens_where_the_proxies_send():
    _, params = parse_command(exec_start(unit(SERVE))[1:])
    host, port = params["host"], params["port"]
    assert host == "127.0.0.1"  # only the proxy on this host reaches it
    assert port > 1023  # no capability: CapabilityBoundingSet= is empty
    assert f"reverse_proxy {host}:{port}" in (DEPLOY / "Caddyfile").read_text()
    assert re.search(rf"\bserver {re.escape(host)}:{port};", (DEPLOY / "nginx.conf").read_text())
    assert params.get("threads"), "serve --threads: give the endpoint its worker threads"


def test_the_timer_starts_cron_every_minute_and_catches_up():
    found = unit(TIMER)
    assert one(found, "Timer", "Unit") == CRON and (DEPLOY / CRON).exists()
    assert one(found, "Timer", "OnCalendar") in EVERY_MINUTE
    assert is_yes(one(found, "Timer", "Persistent"))
    accuracy = re.fullmatch(r"(\d+)(ms|s)", one(found, "Timer", "AccuracySec"))
    assert accuracy and int(accuracy[1]) / (1000 if accuracy[2] == "ms" else 1) <= 5
    assert one(found, "Install", "WantedBy") == "timers.target"
    assert "Install" not in unit(CRON)  # started by the timer, not at boot


HARDENING = ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
             "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID",
             "LockPersonality", "MemoryDenyWriteExecute")  # fmt: skip


@pytest.mark.parametrize("name", SERVICES)
def test_the_services_are_hardened_without_losing_what_they_need(name):
    found = unit(name)
    service = found["Service"]
    for key in HARDENING:
        assert is_yes(one(found, "Service", key)), key
    assert one(found, "Service", "ProtectSystem") == "strict"
    assert one(found, "Service", "ProtectHome") in ("yes", "true", "read-only", "tmpfs")
    assert service.get("CapabilityBoundingSet") == [""]  # none
    # what it must still do: write the state (and the outbox), reach the network
    writable = [p.removeprefix("-") for p in words(found, "Service", "ReadWritePaths")]
    outbox = load_settings(REPO / "newsletter.toml").outbox.dir
    needed = {f"{PROJECT}/.newsletter"} | ({f"{PROJECT}/{outbox}"} if name == CRON else set())
    assert needed <= set(writable), writable
    assert all(p.startswith(f"{PROJECT}/") for p in writable), writable
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= set(
        words(found, "Service", "RestrictAddressFamilies")
    )
    assert not is_yes(service.get("PrivateNetwork", ["no"])[-1])
    assert "IPAddressDeny" not in service


# --- systemd-analyze ---------------------------------------------------------------

CONTROL = """[Unit]
Description=control
[Service]
Type=oneshot
ExecStart={program} cron
"""
# What verify may say about the machine rather than the units: the user does not exist
BENIGN = re.compile(r"(User|Group)=newsletter|\b(user|group) '?newsletter\b", re.I)


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed here")
    return found


def units_in(folder: Path, names: tuple[str, ...] = UNITS, edit: dict[str, str] | None = None):
    """The units copied into `folder` with /srv/newsletter moved there, and an
    executable where ExecStart points (verify wants the program to exist)."""
    root = folder / "srv" / "newsletter"
    program = root / ".venv" / "bin" / "newsletter"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    for name in names:
        text = (DEPLOY / name).read_text().replace(PROJECT, str(root))
        (folder / name).write_text(text + (edit or {}).get(name, ""))
    return program


def verify(tool: str, folder: Path, names: tuple[str, ...]) -> tuple[int, list[str]]:
    """systemd-analyze verify's exit status and what it says about these units (not
    about the machine's own units they want, with --recursive-errors=no where known)."""
    paths = [str(folder / n) for n in names]
    for flags in (["--man=no", "--recursive-errors=no"], ["--man=no"]):
        result = subprocess.run([tool, "verify", *flags, *paths], capture_output=True,
                                text=True, timeout=120, cwd=folder)  # fmt: skip
        if "recursive-errors" not in result.stderr:  # else: a systemd before 250
            break
    said = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    about = [line for line in said if any(n in line for n in names) and not BENIGN.search(line)]
    if result.returncode != 0 and not about:
        about = said or [f"exit status {result.returncode}"]
    return result.returncode, about


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    tool = systemd_analyze()
    program = units_in(tmp_path)
    (tmp_path / "control.service").write_text(CONTROL.format(program=program))
    status, said = verify(tool, tmp_path, ("control.service",))
    if status != 0 or said:
        pytest.skip(f"systemd-analyze verify cannot run here: {' / '.join(said)}")
    status, said = verify(tool, tmp_path, UNITS)
    assert (status, said) == (0, []), "\n".join(said)


def test_verify_as_run_here_would_catch_a_broken_unit(tmp_path):
    """The check above is not blind: a misspelt key, a bad value and a missing
    program (each only a warning, exit 0 for some) are caught."""
    tool = systemd_analyze()
    broken = "\n[Service]\nProtectSytem=strict\nRestrictRealtime=sometimes\n"
    units_in(tmp_path, edit={SERVE: broken})
    status, said = verify(tool, tmp_path, (SERVE,))
    assert any("ProtectSytem" in line for line in said), said
    assert any("sometimes" in line for line in said), said
    (tmp_path / "srv" / "newsletter" / ".venv" / "bin" / "newsletter").unlink()
    status, said = verify(tool, tmp_path, (CRON,))
    assert status != 0 or said


@pytest.mark.parametrize("name", SERVICES)
def test_systemd_analyze_security_rates_the_services_well_exposed(tmp_path, name):
    tool = systemd_analyze()
    units_in(tmp_path, (name,))
    result = subprocess.run([tool, "security", "--offline=yes", str(tmp_path / name)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    said = result.stdout + result.stderr
    found = re.search(rf"Overall exposure level for {re.escape(name)}: (\d+\.\d+)", said)
    if found is None:
        pytest.skip(f"systemd-analyze security --offline is not available: {result.stderr.strip()}")
    assert float(found[1]) <= 2.0, result.stdout  # 0 is best, 10 worst; 1.1 when written


# --- the proxies -------------------------------------------------------------------


def test_the_caddyfile_passes_only_the_endpoint_and_logs_no_links():
    text = (DEPLOY / "Caddyfile").read_text()
    matcher = re.search(r"@newsletter path ([^\n]+)", text)
    assert matcher and {"/unsubscribe", "/healthz"} <= set(matcher[1].split())
    assert "handle @newsletter" in text and "respond 404" in text
    assert "max_size 64KB" in text
    assert not re.search(r"^\s*log\b", text, re.M)  # an access log would keep the links


def test_the_nginx_snippet_passes_only_the_endpoint_and_logs_no_links():
    text = (DEPLOY / "nginx.conf").read_text()
    for header, value in (("X-Forwarded-For", "$remote_addr"), ("X-Forwarded-Proto", "$scheme"),
                          ("X-Forwarded-Host", "$host")):  # fmt: skip
        assert f"proxy_set_header {header} {value};" in text, header
    assert "client_max_body_size 64k;" in text
    for timeout in ("client_body_timeout", "client_header_timeout", "proxy_read_timeout"):
        assert re.search(rf"\b{timeout} \d+s;", text), timeout
    assert "location /unsubscribe {" in text and "location = /healthz {" in text
    assert re.search(r"location / \{\s*return 404;", text)
    formats = re.findall(r"log_format (\w+) '([^;]*)';", text)
    assert formats and not any(re.search(r"\$(request|args|query_string|request_uri)\b", f)
                               for _, f in formats)  # fmt: skip
    uses = re.findall(r"access_log ([^;]+);", text)
    assert uses and all(u == "off" or u.split()[-1] in dict(formats) for u in uses), uses


def test_caddy_validates_the_caddyfile(tmp_path):
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed here")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(DEPLOY / "Caddyfile")],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


NGINX_WRAPPER = """pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/newsletter.conf;
}}
"""


def test_nginx_accepts_the_snippet(tmp_path):
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None:
        pytest.skip("nginx is not installed here")
    if openssl is None:
        pytest.skip("openssl is not installed here (for a throw-away certificate)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=news.example.com", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    text = (DEPLOY / "nginx.conf").read_text()
    live = "/etc/letsencrypt/live/news.example.com"
    text = text.replace(f"{live}/fullchain.pem", str(cert)).replace(f"{live}/privkey.pem", str(key))
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "newsletter.conf").write_text(text)
    (tmp_path / "nginx.conf").write_text(NGINX_WRAPPER.format(d=tmp_path))
    result = subprocess.run(
        [nginx, "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-t"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- the env file ------------------------------------------------------------------

VARIABLE = re.compile(r"#?([A-Z][A-Z0-9_]*)=(.*)")
PLAIN = re.compile(r"[^\s$`\"'\\#&;|<>()*?~]*")  # read the same by systemd and by sh


def test_env_example_names_every_secret_and_holds_none():
    text = (DEPLOY / "env.example").read_text()
    assert ENV_FILE in text and "0600" in text
    found = {m[1]: m[2] for line in text.splitlines() if (m := VARIABLE.fullmatch(line))}
    wanted = {SendgridSettings().api_key_env, SmtpSettings().password_env, STATE_URL_ENV,
              UnsubscribeSettings().secret_env, "NEWSLETTER_PROJECT"}  # fmt: skip
    assert wanted <= set(found), wanted - set(found)
    assert found["NEWSLETTER_PROJECT"] == PROJECT
    for name, value in found.items():
        assert PLAIN.fullmatch(value) or re.fullmatch(r"'[^']*'", value), (name, value)
        if name not in ("NEWSLETTER_PROJECT", UnsubscribeSettings().secret_env):
            assert "replace-me" in value, f"{name}: a placeholder, never a secret"
    assert is_postgres_url(found[STATE_URL_ENV].strip("'"))
    active = [
        line for line in text.splitlines() if line.startswith(UnsubscribeSettings().secret_env)
    ]
    assert not active, "NEWSLETTER_SECRET stays unset: the key is kept in the state"


# --- the guide ---------------------------------------------------------------------


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", GUIDE.read_text(), re.S | re.M)


def guide_commands() -> list[list[str]]:
    """Every `newsletter ...` line of the guide's shell blocks (run directly, with
    sudo -u, or as .venv/bin/newsletter), and every ExecStart= of its ini blocks."""
    commands = []
    for block in fenced("sh"):
        for line in block.splitlines():
            try:
                argv = shlex.split(line, comments=True)
            except ValueError:
                continue  # inside the heredoc of the wrapper
            if argv[:1] == ["sudo"] and argv[1:2] == ["-u"]:
                argv = argv[3:]
            if argv and (argv[0] == "newsletter" or argv[0].endswith("/bin/newsletter")):
                commands.append(argv[1:])
    for block in fenced("ini"):
        commands += [
            shlex.split(line)[1:] for line in re.findall(r"^ExecStart=(\S.*)$", block, re.M)
        ]
    return commands


def test_the_guide_runs_the_commands_it_says():
    commands = guide_commands()
    names = {parse_command(argv)[0] for argv in commands}
    assert {"serve", "send", "schedule", "status", "state export", "state import"} <= names


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


def test_the_settings_the_guide_writes_are_accepted(tmp_path):
    data = tomllib.loads((REPO / "newsletter.toml").read_text())
    for block in fenced("toml"):
        for section, values in tomllib.loads(block).items():
            data.setdefault(section, {}).update(values)
    lines = []
    for section, values in data.items():
        lines += [f"[{section}]", *(f"{k} = {toml_value(v)}" for k, v in values.items()), ""]
    (tmp_path / "newsletter.toml").write_text("\n".join(lines))
    settings = load_settings(tmp_path / "newsletter.toml")
    assert settings.unsubscribe.url == "https://news.example.com/unsubscribe"


def test_healthz_answers_for_the_checks_and_the_balancer(project_dir):
    """The guide's `curl .../healthz` and the balancer's health check."""
    from newsletter.web import make_app

    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}
    setup_testing_defaults(environ)
    answers: list[str] = []
    body = b"".join(
        make_app(project_dir)(environ, lambda status, headers, *_: answers.append(status))
    )
    assert answers[0].startswith("200"), (answers, body[:200])
