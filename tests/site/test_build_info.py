"""The build line at the end of each example page, and the wheel its downloads install."""

from __future__ import annotations

import json
import subprocess
import zipfile
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from packaging.version import Version

import build_line
import wheel_offer

RECORD = {
    "torch": "2.14.0",
    "torchvision": "0.29.0",
    "device": "Example CPU (4 threads)",
    "date": "2026-01-02",
    "commit": "0123456789ab",
}
PAGE = """\
Title
=====

Some prose.

.. code-block:: Python

    print(1)

.. rst-class:: sphx-glr-timing

   **Total running time of the script:** (0 minutes 1.000 seconds)


.. _sphx_glr_download_auto_examples_basics_plot_x.py:

.. only:: html

  .. container:: sphx-glr-footer sphx-glr-footer-example

    .. container:: sphx-glr-download sphx-glr-download-jupyter

      :download:`Download Jupyter notebook: plot_x.ipynb <plot_x.ipynb>`

    .. container:: sphx-glr-download sphx-glr-download-python

      :download:`Download Python source code: plot_x.py <plot_x.py>`

    .. container:: sphx-glr-download sphx-glr-download-zip

      :download:`Download zipped: plot_x.zip <plot_x.zip>`
"""
WHEEL = "pytorch_examples-0.2.1.dev3+g1a2b3c4-py3-none-any.whl"


def fake_app(tmp_path: Path, pattern: str = "/plot_") -> SimpleNamespace:
    examples = tmp_path / "gallery"
    (examples / "basics").mkdir(parents=True)
    (examples / "basics" / "plot_x.py").write_text('"""Title."""\n')
    srcdir = tmp_path / "docs"
    (srcdir / "auto_examples" / "basics").mkdir(parents=True)
    (srcdir / "auto_examples" / "basics" / "plot_x.py").write_text('"""Title."""\n')
    (srcdir / "auto_examples" / "basics" / "plot_x.rst").write_text(PAGE)
    conf = {
        "examples_dirs": [str(examples)],
        "gallery_dirs": ["auto_examples"],
        "filename_pattern": pattern,
        "plot_gallery": "True",
    }
    return SimpleNamespace(
        srcdir=srcdir, config=SimpleNamespace(sphinx_gallery_conf=conf, root_doc="index")
    )


# --- The build line ---------------------------------------------------------------------


def test_the_build_line_names_versions_device_date_and_commit():
    line = build_line.build_line(RECORD, executed=True, now={})
    assert line == (
        "**Built with** torch 2.14.0 and torchvision 0.29.0 on Example CPU (4 threads), "
        "2026-01-02, commit 0123456789ab."
    )


def test_a_page_whose_example_did_not_run_says_so():
    now = {**RECORD, "date": "2026-02-03"}
    assert "Not run for this page" in build_line.build_line(None, executed=False, now=now)
    earlier = build_line.build_line(None, executed=True, now=now)
    assert "earlier build" in earlier
    assert "2026-02-03" in earlier


def test_the_facts_describe_this_torch_and_checkout():
    # References from elsewhere than the imported modules: the installed distributions'
    # metadata, and git asked in other words than the extension asks it.
    facts = build_line.run_facts(str(Path(__file__).parent))
    for name in ("torch", "torchvision"):
        assert Version(facts[name]).public == Version(metadata.version(name)).public
    assert f"({torch.get_num_threads()} thread" in facts["device"]
    git = ["git", "-C", str(Path(__file__).parent)]
    head = subprocess.run([*git, "log", "-1", "--format=%H"], capture_output=True, text=True)
    changed = subprocess.run([*git, "diff", "--quiet", "HEAD"], check=False).returncode != 0
    abbreviated, *rest = facts["commit"].split(maxsplit=1)
    assert len(abbreviated) == 12
    assert head.stdout.startswith(abbreviated)
    assert rest == (["with uncommitted changes"] if changed else [])


def test_records_are_kept_beside_the_page_they_describe_and_dropped_when_it_changes(tmp_path):
    app = fake_app(tmp_path)
    page = app.srcdir / "auto_examples" / "basics" / "plot_x.rst"
    record_path = page.with_name("plot_x.build.json")
    build_line.RAN.clear()
    build_line.record_run({"src_dir": str(tmp_path)}, "plot_x.py", "after")
    assert build_line.RAN == {}
    build_line.RAN["plot_x.py"] = RECORD
    build_line.keep_records(app)
    assert json.loads(record_path.read_text())["torch"] == "2.14.0"
    build_line.RAN.clear()
    build_line.keep_records(app)  # not re-run, page unchanged: the record stays
    assert record_path.exists()
    page.write_text(PAGE.replace("Some prose.", "Other prose."))
    build_line.keep_records(app)  # page rewritten without a run: the record goes
    assert not record_path.exists()


def test_the_build_line_follows_the_running_time_where_the_prose_check_cannot_see_it(
    tmp_path,
):
    app = fake_app(tmp_path)
    page = app.srcdir / "auto_examples" / "basics" / "plot_x.rst"
    page.with_name("plot_x.build.json").write_text(json.dumps(RECORD))
    source = [PAGE]
    build_line.add_build_line(app, "auto_examples/basics/plot_x", source)
    text = source[0]
    line = build_line.build_line(RECORD, True, {})
    assert text.index("Total running time") < text.index(line)
    assert text.index(line) < text.index(".. _sphx_glr_download")
    # The line is added as Sphinx reads the page; the page on disk, which the prose check
    # (docs/prose_numbers.py) reads, is unchanged.
    assert page.read_text() == PAGE


def test_a_page_the_build_does_not_run_gets_the_not_run_line(tmp_path):
    app = fake_app(tmp_path, pattern="/plot_(?!x)")
    source = [PAGE]
    build_line.add_build_line(app, "auto_examples/basics/plot_x", source)
    assert "**Not run for this page:**" in source[0]


def test_other_pages_get_no_build_line(tmp_path):
    app = fake_app(tmp_path)
    source = ["Notes\n=====\n"]
    build_line.add_build_line(app, "notes/linear_regression", source)
    assert source == ["Notes\n=====\n"]


# --- The offered wheel and the downloads' install command ------------------------------


@pytest.mark.parametrize(
    ("version", "site_url", "target"),
    [
        ("0.2.0", "", "pytorch-examples==0.2.0"),
        ("0.2.0rc1", "https://example.org/site/", "pytorch-examples==0.2.0rc1"),
        ("0.2.1.dev3+g1a2b3c4", "", WHEEL),
        (
            "0.2.1.dev3+g1a2b3c4",
            "https://example.org/site/",
            f"https://example.org/site/wheels/{WHEEL}",
        ),
        ("0.2.0+d20260101", "", "pytorch_examples-0.2.0+d20260101-py3-none-any.whl"),
    ],
)
def test_downloads_pin_a_release_by_name_and_anything_else_by_its_wheel(version, site_url, target):
    offer = wheel_offer.Offer(Path(f"pytorch_examples-{version}-py3-none-any.whl"), site_url)
    assert offer.version == version
    assert offer.pip_target == target
    cell = offer.notebook_cell()
    assert cell.startswith(wheel_offer.HEADER_START)
    assert f"\n%pip install {target}\n%matplotlib inline" in cell
    assert f"#     pip install {target}" in offer.script_header()
    assert all(len(line) <= 88 or target in line for line in cell.splitlines())


def test_the_script_header_is_put_once_and_replaced_by_a_later_build():
    script = '"""Title."""\n\nimport torch\n'
    old = wheel_offer.Offer(Path("pytorch_examples-0.1.dev1+gaaaaaaa-py3-none-any.whl"))
    new = wheel_offer.Offer(Path(WHEEL))
    once = wheel_offer.with_header(script, old.script_header())
    assert wheel_offer.with_header(once, old.script_header()) == once
    again = wheel_offer.with_header(once, new.script_header())
    assert again == new.script_header() + "\n" + script
    assert "0.1.dev1" not in again


def test_the_install_cell_replaces_an_earlier_one_or_goes_first():
    cell = wheel_offer.Offer(Path(WHEEL)).notebook_cell()

    def notebook(*sources):
        return {"cells": [{"cell_type": "code", "source": [s], "outputs": []} for s in sources]}

    replaced = wheel_offer.with_install_cell(notebook("%pip install old", "x = 1"), cell)
    assert ["".join(c["source"]) for c in replaced["cells"]] == [cell, "x = 1"]
    inserted = wheel_offer.with_install_cell(notebook("x = 1"), cell)
    assert ["".join(c["source"]) for c in inserted["cells"]] == [cell, "x = 1"]


def test_rezip_takes_the_files_as_they_are_now_and_adds_the_readme(tmp_path):
    (tmp_path / "basics").mkdir()
    script = tmp_path / "basics" / "plot_x.py"
    script.write_text("old")
    archive = tmp_path / "all_python.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(script, "basics/plot_x.py")
    script.write_text("new")
    wheel_offer.rezip(archive, {"README.txt": "run me"})
    with zipfile.ZipFile(archive) as z:
        assert sorted(z.namelist()) == ["README.txt", "basics/plot_x.py"]
        assert z.read("basics/plot_x.py") == b"new"
        assert z.read("README.txt") == b"run me"


def test_the_zip_readme_gives_one_command_that_installs_the_wheel_and_runs_an_example():
    offer = wheel_offer.Offer(Path(WHEEL))
    readme = offer.zip_readme("python")
    command = (
        f"python3 -m venv .venv && .venv/bin/pip install {WHEEL} "
        "&& .venv/bin/python basics/plot_tensors_numpy.py"
    )
    assert f"    {command}\n" in readme
    assert "pip install" in offer.zip_readme("jupyter")


def test_each_example_page_links_the_wheel_in_its_download_section(tmp_path, monkeypatch):
    app = fake_app(tmp_path)
    monkeypatch.setattr(wheel_offer, "_prepared", wheel_offer.Offer(Path(WHEEL)))
    source = [PAGE]
    wheel_offer.add_links(app, "auto_examples/basics/plot_x", source)
    zip_line = source[0].index("Download zipped")
    link = f"`Download the package: {WHEEL} <../../wheels/{WHEEL}>`__"
    assert source[0].index(link) > zip_line
    assert "    .. container:: sphx-glr-download sphx-glr-download-wheel\n" in source[0]


def test_the_home_page_must_keep_its_wheel_marker(tmp_path, monkeypatch):
    app = fake_app(tmp_path)
    monkeypatch.setattr(wheel_offer, "_prepared", wheel_offer.Offer(Path(WHEEL)))
    source = [f"# Home\n\n{wheel_offer.HOME_MARKER}\n"]
    wheel_offer.add_links(app, "index", source)
    assert f"<wheels/{WHEEL}>`__" in source[0]
    assert f"pip install {WHEEL}" in source[0]
    with pytest.raises(ValueError, match="lost its wheel marker"):
        wheel_offer.add_links(app, "index", ["# Home\n"])
