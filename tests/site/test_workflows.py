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
    assert command in readme_commands(), f"the README does not give {command!r}"


def test_the_published_folder_is_the_one_the_docs_session_writes():
    noxfile = (ROOT / "noxfile.py").read_text()
    assert 'DOCS_BUILD = ROOT / "docs" / "_build"' in noxfile
    build = load("site.yml")["jobs"]["build"]
    kept = [s["with"]["path"] for s in build["steps"] if "path" in s.get("with", {})]
    uploads = [path for path in kept if "html" in path]
    assert uploads, "no step keeps the built site"
    assert set(uploads) == {"docs/_build/html"}


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
    (session,) = re.findall(r"nox -s (\w+)", command)
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"\nstep build python3 -m nox -s {session}\n" in ci, "CI does not build as released"
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
