import json

import pytest

from pytorch_examples import results


@pytest.fixture(autouse=True)
def temporary_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)


def test_a_recorded_result_is_read_back_and_replaced_on_rerun():
    results.record_result("plot_a", val_loss=2.5, parameters=100)
    results.record_result("plot_b", val_loss=2.0)
    assert results.load_results(["plot_b", "plot_a"]) == {
        "plot_b": {"val_loss": 2.0},
        "plot_a": {"val_loss": 2.5, "parameters": 100},
    }
    results.record_result("plot_a", val_loss=2.25)
    assert results.load_results(["plot_a"]) == {"plot_a": {"val_loss": 2.25}}
    assert not list(results.results_dir().glob("*.tmp"))


def test_a_missing_record_names_the_pages_to_run():
    results.record_result("plot_a", val_loss=2.5)
    with pytest.raises(results.MissingResultsError, match=r"plot_b, plot_c.*run those pages"):
        results.load_results(["plot_a", "plot_b", "plot_c"])


@pytest.mark.parametrize(
    ("page", "metrics", "message"),
    [
        ("../escape", {"loss": 1.0}, "letters, digits"),
        ("plot_a", {}, "at least one"),
        ("plot_a", {"loss": float("nan")}, "finite"),
        ("plot_a", {"loss": "low"}, "must be a number"),
        ("plot_a", {"converged": True}, "must be a number"),
        ("plot_a", {"losses": []}, "empty list"),
        ("plot_a", {"losses": [1.0, float("inf")]}, "finite"),
        ("plot_a", {"losses": [1.0, "low"]}, "must be a number"),
        ("plot_a", {"losses": [[1.0]]}, "must be a number"),
    ],
)
def test_bad_records_are_refused(page, metrics, message):
    with pytest.raises(ValueError, match=message):
        results.record_result(page, **metrics)


def test_the_record_is_plain_json_with_a_time():
    path = results.record_result("plot_a", val_loss=2.5)
    record = json.loads(path.read_text())
    assert record["page"] == "plot_a"
    assert record["recorded"].endswith("+00:00")


def test_a_list_of_per_example_scores_is_read_back_in_order():
    losses = [2.5, 0.125, 1 / 3, 7.0]
    results.record_result("plot_a", val_loss=2.5, val_losses=losses, positions=(0, 1, 2, 0))
    metrics = results.load_results(["plot_a"])["plot_a"]
    assert metrics["val_losses"] == losses  # every float exactly, in order
    assert metrics["positions"] == [0, 1, 2, 0]
    assert metrics["val_loss"] == 2.5
