"""The GitHub Actions workflows run what the README and CI run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pytorch_examples.data.download import cache_dir

ROOT = Path(__file__).parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    workflow["on"] = workflow.pop(True)
    return workflow


def step(job: dict, name: str) -> dict:
    matches = [s for s in job["steps"] if s.get("name") == name]
    assert len(matches) == 1, f"expected one step named {name!r}"
    return matches[0]


def readme_commands() -> list[str]:
    """Every command line of the README's bash blocks, without its trailing comment."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]


def test_the_site_workflow_builds_with_the_readme_docs_command():
    build = load("site.yml")["jobs"]["build"]
    command = step(build, "Build the site")["run"].strip()
    assert command == "python3 -m pip install 'nox[uv]' && python3 -m nox -s docs"
    assert command in readme_commands()


def test_the_site_is_published_from_main_and_attached_to_pull_requests():
    workflow = load("site.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "pull_request" in workflow["on"]
    deploy = workflow["jobs"]["deploy"]
    assert deploy["if"] == "github.event_name == 'push'"
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    build = workflow["jobs"]["build"]
    attach = step(build, "Attach the site to the pull request's run")
    assert attach["if"] == "github.event_name == 'pull_request'"
    assert attach["with"]["path"] == "docs/_build/html"
    assert step(build, "Keep the site for the deploy job")["with"]["path"] == "docs/_build/html"


def test_the_site_workflow_caches_uv_and_the_package_cache_directory(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    build = load("site.yml")["jobs"]["build"]
    cached = [
        Path(s["with"]["path"]).expanduser()
        for s in build["steps"]
        if s.get("uses", "").startswith("actions/cache@")
    ]
    # Where pytorch_examples downloads data and keeps the decoded CIFAR-10 tensors.
    assert cache_dir() in cached
    assert Path("~/.cache/uv").expanduser() in cached


def test_the_release_builds_with_the_ci_build_step_and_publishes_without_a_token():
    workflow = load("release.yml")
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    build = workflow["jobs"]["build"]
    command = step(build, "Build the sdist and the wheel")["run"].strip()
    assert command == "python3 -m pip install 'nox[uv]' && python3 -m nox -s build"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nstep build python3 -m nox -s build\n" in ci
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    (upload,) = [s for s in publish["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    assert "password" not in upload.get("with", {})


@pytest.mark.parametrize("name", ["site.yml", "release.yml"])
def test_checkouts_fetch_the_tags_the_version_comes_from(name):
    for job in load(name)["jobs"].values():
        for s in job["steps"]:
            if s.get("uses", "").startswith("actions/checkout@"):
                assert s["with"]["fetch-depth"] == 0
