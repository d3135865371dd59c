"""The gallery scripts run as a reader would run them, and agree with the theory."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from pytorch_examples.device import gpu_examples_enabled

sys.path.insert(0, str(Path(__file__).parents[1] / "docs"))
from gallery_manifest import GALLERY_DIR, GPU, PAGES, SECTIONS, SLOW, ReadingOrder

GALLERY = GALLERY_DIR
EXAMPLES = [page.path for page in PAGES]
GPU_EXAMPLES = [p for p in EXAMPLES if p.stem in GPU]
REGRESSION = GALLERY / "regression"

# Pages that a page test (tests/test_pages_*.py) already executes in this process, most
# with smaller settings. The docs build runs every page as written, and `nox -s
# notebooks` runs each fast one again as a downloaded notebook in a fresh kernel; the
# fresh-process run below takes the other pages, so that this suite executes every
# fast page once and no page a third time.
RUN_BY_PAGE_TESTS = frozenset({
    "plot_autograd", "plot_logistic_regression", "plot_digits_mlp", "plot_overfitting",
    "plot_bigram_counts", "plot_softmax_bigram", "plot_self_attention",
    "plot_cifar10_data", "plot_convolution_layers", "plot_pandas_penguins",
    "plot_checkpoints", "plot_resume_training", "plot_distributed_data_parallel", "plot_fsdp",
})  # fmt: skip
FRESH_PROCESS = [p for p in EXAMPLES if p.stem not in RUN_BY_PAGE_TESTS]


def run_script(script: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Run a gallery script as a reader would: a fresh interpreter, no display."""
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_manifest_lists_every_gallery_page_once():
    on_disk = set(GALLERY.rglob("plot_*.py"))
    listed = set(EXAMPLES)
    assert not on_disk - listed, f"add to docs/gallery_manifest.py: {sorted(on_disk - listed)}"
    assert not listed - on_disk, f"listed but missing: {sorted(listed - on_disk)}"
    assert len(listed) == len(EXAMPLES), "a page is listed twice"


def test_the_pages_left_to_page_tests_are_run_by_them():
    run = set()
    for path in Path(__file__).parent.glob("test_pages_*.py"):
        text = path.read_text()
        # NAME = GALLERY / "section" / "plot_page.py", then run_page(NAME or run_tiny(NAME
        for name, stem in re.findall(r'^(\w+) = GALLERY / "\w+" / "(plot_\w+)\.py"', text, re.M):
            if re.search(rf"\b(run_page|run_tiny)\(\s*{name}\b", text):
                run.add(stem)
    assert RUN_BY_PAGE_TESTS - run == set(), "take these out of RUN_BY_PAGE_TESTS"
    assert {p.stem for p in EXAMPLES} - SLOW >= RUN_BY_PAGE_TESTS


def test_the_home_page_shows_every_section():
    home = (GALLERY.parent / "docs" / "index.md").read_text()
    missing = [s.directory for s in SECTIONS if f"../gallery/{s.directory}/plot_*.py" not in home]
    assert not missing, f"docs/index.md's minigallery leaves out {missing}"


def test_the_reading_order_rejects_a_page_missing_from_the_manifest():
    order = ReadingOrder(str(GALLERY))
    assert order("plot_autograd.py") < order("plot_cifar10_cnn.py")
    with pytest.raises(ValueError, match=r"not in docs/gallery_manifest\.py"):
        order("plot_unlisted.py")


@pytest.mark.parametrize(
    "script",
    [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW else p for p in FRESH_PROCESS],
    ids=lambda p: str(p.relative_to(GALLERY)),
)
def test_example_runs_in_a_fresh_process(script, tmp_path):
    if script in GPU_EXAMPLES and not gpu_examples_enabled():
        pytest.skip("GPU example: needs PYTORCH_EXAMPLES_GPU=1 and CUDA")
    result = run_script(script, tmp_path)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stderr[-3000:]}"
    assert result.stdout.strip(), f"{script.name} printed nothing"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("script", GPU_EXAMPLES, ids=lambda p: p.name)
def test_gpu_example_without_cuda_fails_with_a_clear_message(script, tmp_path):
    result = run_script(script, tmp_path)
    assert result.returncode != 0
    assert "This example needs a CUDA GPU" in result.stderr


@pytest.fixture(scope="module")
def regression_results():
    """Final (w, b), loss history and the least squares answer of each regression page."""
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt, "show", lambda *args, **kwargs: plt.close("all"))
        for level in ("autograd", "minibatch", "nn"):
            namespace = runpy.run_path(str(REGRESSION / f"plot_linear_regression_{level}.py"))
            results[level] = namespace
    return results


# Full-batch descent on standardized x converges geometrically, so after its epochs it
# is within 0.005 (slope) and 0.05 (intercept) of least squares. Mini-batch descent
# keeps some batch noise: within 0.01 and 0.5, a tenth of the intercept's standard
# error (noise 50 / sqrt(100 points) = 5).
TOLERANCES = {"autograd": (0.005, 0.05), "minibatch": (0.01, 0.5), "nn": (0.01, 0.5)}


@pytest.mark.parametrize("level", TOLERANCES)
def test_each_level_reaches_least_squares(regression_results, level):
    namespace = regression_results[level]
    slope_tol, intercept_tol = TOLERANCES[level]
    assert namespace["w_fit"] == pytest.approx(namespace["lstsq_slope"], abs=slope_tol)
    assert namespace["b_fit"] == pytest.approx(namespace["lstsq_intercept"], abs=intercept_tol)


def test_the_three_levels_agree_with_each_other(regression_results):
    fits = [(ns["w_fit"], ns["b_fit"]) for ns in regression_results.values()]
    for w, b in fits[1:]:
        assert w == pytest.approx(fits[0][0], abs=0.015)
        assert b == pytest.approx(fits[0][1], abs=0.55)


@pytest.mark.parametrize("level", TOLERANCES)
def test_training_reaches_the_noise_floor(regression_results, level):
    namespace = regression_results[level]
    losses = namespace["losses"]
    steps_per_epoch = len(losses) // namespace["N_EPOCHS"]
    # Every point is in exactly one batch of an epoch, so the last epoch's mean is the
    # loss over all the data. The best possible mean squared error is about the noise
    # variance.
    last_epoch = sum(losses[-steps_per_epoch:]) / steps_per_epoch
    noise_variance = namespace["NOISE_STD"] ** 2
    assert last_epoch < 1.3 * noise_variance
    assert losses[0] > 3 * noise_variance


def test_raw_inputs_leave_the_intercept_behind(regression_results):
    namespace = regression_results["autograd"]
    raw_w, raw_b = namespace["raw_params"][-1]
    assert raw_w == pytest.approx(namespace["lstsq_slope"], abs=0.01)
    assert abs(raw_b) < 0.1 * abs(namespace["lstsq_intercept"])
