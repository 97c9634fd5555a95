"""compose.yaml and the Dockerfile as an operator deploys them (parsed: no Docker here)."""

from __future__ import annotations

import re

import yaml

from tests.servers import ROOT

MINOR_PINNED = re.compile(r"^[\w./-]+:\d+\.\d+[\w.-]*$")


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_one_image_built_once_runs_migrate_api_and_worker() -> None:
    services = _compose()["services"]
    built = [name for name, svc in services.items() if "build" in svc]
    assert built == ["migrate"]
    image = services["migrate"]["image"]
    assert services["api"]["image"] == services["worker"]["image"] == image


def test_third_party_images_are_pinned_to_a_minor_version() -> None:
    for name, svc in _compose()["services"].items():
        if "build" in svc or svc["image"].startswith("tandem:"):
            continue
        assert MINOR_PINNED.match(svc["image"]), (name, svc["image"])
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM ") or ("COPY --from=" in line and ":" in line):
            image = line.split()[1] if line.startswith("FROM") else line.split("=")[1].split()[0]
            assert MINOR_PINNED.match(image), line


def test_no_secret_is_written_in_the_compose_file_and_env_example_names_every_variable() -> None:
    text = (ROOT / "compose.yaml").read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in text
    assert not re.search(r"://\w+:(?!\$\{)[^@]+@", text), "a password in a URL"
    used = set(re.findall(r"\$\{(\w+)", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used <= example, used - example


def test_api_scales_behind_the_proxy() -> None:
    services = _compose()["services"]
    assert "ports" not in services["api"] and "ports" not in services["worker"]
    assert services["proxy"]["ports"]
    conf = (ROOT / "deploy" / "nginx" / "tandem.conf").read_text()
    assert "proxy_pass $api" in conf and "resolver 127.0.0.11" in conf


def test_the_image_has_runtime_dependencies_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2, "a build stage and a runtime stage"
    assert "--mount=type=cache" in dockerfile
    for sync in re.findall(r"uv sync[^\n]*", dockerfile):
        assert "--no-dev" in sync and "--extra" not in sync and "--all-extras" not in sync
