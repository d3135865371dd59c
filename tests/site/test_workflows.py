"""The GitHub Actions workflows run what the README and CI run."""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
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


def docs_output_folder() -> Path:
    """The folder the noxfile's docs session passes to sphinx-build as its output."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    names: dict[str, object] = {"ROOT": ROOT, "str": str}
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "DOCS_BUILD":
            names["DOCS_BUILD"] = eval(ast.unparse(node.value), {}, names)
    (docs,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "docs"]
    (sphinx,) = [
        n
        for n in ast.walk(docs)
        if isinstance(n, ast.Call) and n.args and ast.unparse(n.args[0]) == "'sphinx-build'"
    ]
    return Path(eval(ast.unparse(sphinx.args[-1]), {}, names))


def test_the_published_folder_is_the_one_the_docs_session_writes():
    build = load("site.yml")["jobs"]["build"]
    kept = [s for s in build["steps"] if "upload" in s.get("uses", "")]
    assert kept, "no step keeps the built site"
    for upload in kept:
        assert ROOT / upload["with"]["path"] == docs_output_folder(), upload["uses"]


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
    # Only a version tag releases: no branch push, no pull request.
    assert list(workflow["on"]) == ["push"]
    assert list(workflow["on"]["push"]) == ["tags"]
    tags = workflow["on"]["push"]["tags"]
    assert any(fnmatch("v0.2.0", tag) for tag in tags)
    assert not any(fnmatch("main", tag) for tag in tags)
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
