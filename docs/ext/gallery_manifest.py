"""The gallery's one manifest: its sections, their reading order, and each page's needs.

Everything that lists example pages reads this file: the Sphinx configuration (section
and page order, which pages execute), the reading paths on the home page and the gallery
index, the tests (which pages are slow, which need a GPU, the small settings each runs with in
the test suite) and the notebook check. A test fails when a ``plot_*.py`` file in
``gallery/`` is missing here, or when this file names one that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

GALLERY_DIR = Path(__file__).parents[2] / "gallery"


@dataclass(frozen=True)
class Page:
    """One example page.

    Attributes
    ----------
    file : str
        The script's path below ``gallery/``, for example ``"basics/plot_autograd.py"``.
    title : str
        The page's name on the reading paths.
    slow : bool
        It trains for a minute or more, or it reads the results that such pages record:
        the docs build runs it as written; the test suite and the notebook check run it
        only with its small settings, and leave it out if it has none (``pytest -m
        slow`` then runs it as a test).
    gpu : bool
        It needs a CUDA GPU: it runs only when ``PYTORCH_EXAMPLES_GPU=1`` and CUDA is
        present, and is never run as a notebook.
    small : Mapping or None
        Settings (top-level constants) that make the page quick, for the test suite and
        the notebook check, which then run it with them and record its claims rather
        than enforcing them; a slow page with small settings runs in both too, a GPU
        page in the test suite only. None: both run the page as written (if it is
        fast), claims enforced.
    """

    file: str
    title: str
    slow: bool = False
    gpu: bool = False
    small: Mapping[str, object] | None = field(default=None, compare=False)

    @property
    def runs_in_tests(self) -> bool:
        """Whether the default test run executes it (as written, or with small settings)."""
        return self.small is not None or not (self.slow or self.gpu)

    @property
    def path(self) -> Path:
        """The script's path on disk."""
        return GALLERY_DIR / self.file

    @property
    def docname(self) -> str:
        """The Sphinx document sphinx-gallery makes of it."""
        return "auto_examples/" + self.file.removesuffix(".py")


@dataclass(frozen=True)
class Section:
    """One gallery section, a folder of ``gallery/``, with its pages in reading order.

    Attributes
    ----------
    directory : str
        The folder below ``gallery/``.
    title : str
        The section's name on the reading paths.
    notes : str or None
        The notes page (a docname below ``docs/``) to read before the section, if any.
    pages : tuple of Page
        The pages in reading order.
    """

    directory: str
    title: str
    notes: str | None
    pages: tuple[Page, ...]


SECTIONS = (
    Section(
        "basics",
        "Tensors and autograd",
        None,
        (
            Page("basics/plot_tensors_numpy.py", "tensors and NumPy"),
            Page("basics/plot_autograd.py", "automatic differentiation"),
            Page("basics/plot_activation_functions.py", "activation functions"),
            Page("basics/plot_basics_exercises.py", "exercises"),
        ),
    ),
    Section(
        "regression",
        "Regression",
        "notes/linear_regression",
        (
            Page("regression/plot_linear_regression_autograd.py", "a line with autograd"),
            Page("regression/plot_linear_regression_minibatch.py", "mini-batches"),
            Page("regression/plot_linear_regression_nn.py", "nn.Module and torch.optim"),
            Page("regression/plot_loss_choice.py", "choosing the loss"),
            Page("regression/plot_overfitting.py", "overfitting and regularization"),
            Page("regression/plot_regression_exercises.py", "exercises"),
        ),
    ),
    Section(
        "classification",
        "Classification",
        "notes/classification",
        (
            Page("classification/plot_logistic_regression.py", "logistic regression"),
            Page("classification/plot_argmax_softmax.py", "argmax and softmax"),
            Page(
                "classification/plot_digits_mlp.py",
                "handwritten digits with an MLP",
                # Fewer, larger batches at a higher rate and a short patience: both models
                # still stop early, after tens of epochs rather than a hundred or more.
                small={
                    "HIDDEN_UNITS": 16,
                    "PATIENCE": 3,
                    "BATCH_SIZE": 256,
                    "LEARNING_RATE": 0.1,
                },
            ),
            Page("classification/plot_classification_exercises.py", "exercises"),
        ),
    ),
    Section(
        "language",
        "Language models on names",
        None,
        (
            Page("language/plot_bigram_counts.py", "bigram counts"),
            Page("language/plot_softmax_bigram.py", "the bigram model as a softmax layer"),
            Page("language/plot_bigram_regularization.py", "L2 regularization or smoothing"),
            Page(
                "language/plot_mlp_language_model.py",
                "an MLP with embeddings",
                slow=True,
                small={
                    "EMBEDDING_DIM": 4,
                    "HIDDEN_DIM": 16,
                    "N_STEPS": 20,
                    "EVAL_EVERY": 10,
                    "N_SAMPLES": 2,
                },
            ),
            Page("language/plot_recurrent_step.py", "the hidden state, step by step"),
            Page(
                "language/plot_recurrent_network.py",
                "a recurrent network",
                slow=True,
                small={
                    "EMBEDDING_DIM": 8,
                    "HIDDEN_DIM": 16,
                    "RNN_HIDDEN_DIM": 24,
                    "N_STEPS": 30,
                    "EVAL_EVERY": 10,
                    "BATCH_SIZE": 64,
                    "MAX_LEARNING_RATE": 1e-2,
                    "N_SAMPLES": 3,
                },
            ),
            Page("language/plot_self_attention.py", "self-attention, written out"),
            Page("language/plot_packed_names.py", "names packed into rows"),
            Page(
                "language/plot_transformer.py",
                "a small GPT",
                slow=True,
                small={
                    "WIDTH": 16,
                    "N_HEADS": 2,
                    "N_LAYERS": 1,
                    "N_STEPS": 30,
                    "EVAL_EVERY": 10,
                    "ROWS_PER_BATCH": 16,
                    "MAX_LEARNING_RATE": 1e-2,
                    "N_SAMPLES": 3,
                    "N_COUNTED": 30,
                },
            ),
            Page("language/plot_language_models_compared.py", "the models compared", slow=True),
            Page("language/plot_language_exercises.py", "exercises"),
        ),
    ),
    Section(
        "text",
        "Real text",
        None,
        (
            Page(
                "text/plot_surname_classifier.py",
                "which language is this surname?",
                small={"N_EPOCHS": 2, "N_TIMED_NAMES": 64, "N_TIMING_REPEATS": 2},
            ),
            Page(
                "text/plot_unbalanced_classes.py",
                "accuracy on unbalanced classes",
                small={"N_EPOCHS": 1},
            ),
            Page(
                "text/plot_class_weights.py",
                "class weights or balanced sampling",
                small={"N_EPOCHS": 1, "N_BOOTSTRAP": 20},
            ),
            Page(
                "text/plot_shakespeare_gpt.py",
                "a GPT on Shakespeare",
                slow=True,
                small={
                    "WIDTH": 16,
                    "N_LAYERS": 1,
                    "BLOCKS_READ": 320,
                    "N_EVALS": 2,
                    "N_SAMPLED": 20,
                },
            ),
            Page(
                "text/plot_byte_pair_encoding.py",
                "byte-pair encoding",
                small={
                    "N_MERGES": 64,
                    "MERGE_COUNTS": (0, 16, 64),
                    "WIDTH": 16,
                    "N_HEADS": 2,
                    "N_LAYERS": 1,
                    "N_STEPS": 20,
                    "EVAL_EVERY": 10,
                },
            ),
        ),
    ),
    Section(
        "vision",
        "Vision",
        None,
        (
            Page("vision/plot_cifar10_data.py", "CIFAR-10 as tensors"),
            Page("vision/plot_convolution_layers.py", "convolution, pooling, batch norm"),
            Page(
                "vision/plot_cifar10_cnn.py",
                "a CNN for CIFAR-10 on a CPU",
                slow=True,
                small={
                    "SUBSET": 512,
                    "N_VALIDATION": 256,
                    "WIDTHS": (4, 8, 16),
                    "N_EPOCHS": 2,
                    "BATCH_SIZE": 64,
                    "N_TIMING_STEPS": 2,
                },
            ),
            Page(
                "vision/plot_cifar10_cnn_test.py",
                "choosing and testing the CNN",
                slow=True,  # it reads the networks plot_cifar10_cnn.py saves
                small={"N_SAMPLE_IMAGES": 4},  # with the CNN page's small run
            ),
            Page("vision/plot_devices_and_precision.py", "devices and mixed precision"),
            Page(
                "vision/plot_gpu_fast_cifar10.py",
                "fast training on a GPU",
                slow=True,
                gpu=True,
                # Small enough for a shared CPU (bfloat16 convolutions are slow there),
                # large enough that the training loss falls over three epochs.
                small={
                    "DEVICE": "cpu",
                    "SUBSET": 64,
                    "N_VALIDATION": 64,
                    "N_EPOCHS": 3,
                    "BATCH_SIZE": 8,
                    "EVAL_BATCH_SIZE": 128,
                    "WIDTH": 4,
                    "WARMUP_STEPS": 1,
                },
            ),
            Page("vision/plot_vision_exercises.py", "exercises"),
        ),
    ),
    Section(
        "data",
        "Real data in",
        None,
        (
            Page("data/plot_pandas_penguins.py", "from a pandas table to a classifier"),
            Page("data/plot_dataset_dataloader.py", "Dataset, DataLoader and transforms"),
            Page(
                "data/plot_dataloader_throughput.py",
                "how fast the DataLoader delivers",
                # Fewer timed windows: the timings' claims are recorded, not enforced.
                small={"N_REPEATS": 3, "BATCHES_PER_REPEAT": 1},
            ),
            Page("data/plot_data_exercises.py", "exercises"),
        ),
    ),
    Section(
        "scale",
        "Training runs that survive and scale",
        None,
        (
            Page(
                "scale/plot_checkpoints.py",
                "saving and loading checkpoints",
                small={"N_EPOCHS": 2},
            ),
            Page(
                "scale/plot_resume_training.py",
                "resuming a run exactly",
                small={"N_EPOCHS": 4, "STOP_AFTER": 2},
            ),
            Page("scale/plot_distributed_data_parallel.py", "DistributedDataParallel"),
            Page("scale/plot_fsdp.py", "sharding a model with FSDP"),
            Page("scale/plot_scale_exercises.py", "exercises"),
        ),
    ),
    Section(
        "practice",
        "Fine-tune, diagnose, ship",
        None,
        (
            Page(
                "practice/plot_pretraining.py",
                "pretraining a network to adapt",
                slow=True,
                small={
                    "N_SOURCE_PER_CLASS": 100,
                    "N_TARGET_PER_CLASS": 10,
                    "N_VAL_PER_CLASS": 20,
                    "WIDTHS": (8, 8, 16),
                    "PRETRAIN_EPOCHS": 1,
                    "PRETRAIN_BATCH_SIZE": 50,
                },
            ),
            Page(
                "practice/plot_fine_tuning.py",
                "fine-tuning a pretrained network",
                slow=True,  # it reads what plot_pretraining.py saves
                small={"TARGET_EPOCHS": 2, "TARGET_BATCH_SIZE": 10, "EVAL_EVERY": 1},
            ),
            Page("practice/plot_low_rank_adapters.py", "low-rank adapters (LoRA): the layer"),
            Page(
                "practice/plot_lora_rank_and_rate.py",
                "training low-rank adapters: rank, rate and merge",
                slow=True,  # it reads what plot_pretraining.py and plot_fine_tuning.py save
                small={"N_START_IMAGES": 16},  # with the other pages' small runs
            ),
            Page(
                "practice/plot_torchvision_weights.py",
                "starting from torchvision's weights",
            ),
            Page(
                "practice/plot_training_diagnostics.py",
                "why is my training not working? statistics at initialisation",
                small={"WIDTH": 32},
            ),
            Page(
                "practice/plot_learning_rate_range_test.py",
                "a learning-rate range test, checked on validation",
                small={"WIDTH": 32, "RANGE_STEPS": 50, "N_STEPS": 60},
            ),
            Page(
                "practice/plot_statistics_during_training.py",
                "statistics during training: a high rate, a vanishing signal, BatchNorm",
                slow=True,  # it trains at the rate plot_learning_rate_range_test.py saves
                small={"WIDTH": 32, "N_STEPS": 40},  # with the range-test page's small run
            ),
            Page(
                "practice/plot_loss_curve_symptoms.py",
                "a checklist of symptoms: NaN, flat, noisy",
                slow=True,  # it trains at the rate plot_learning_rate_range_test.py saves
                small={"WIDTH": 32, "N_STEPS": 60},  # with the range-test page's small run
            ),
            Page(
                "practice/plot_compile_and_profile.py",
                "fast: where the time goes, profiler and compile",
                small={"N_EPOCHS": 3, "LARGE_BATCH": 256, "PROFILED_CALLS": (3, 2)},
            ),
            Page(
                "practice/plot_export_to_onnx.py",
                "shippable: torch.export, ONNX and ONNX Runtime",
                slow=True,  # it reads what plot_compile_and_profile.py saves
                small={},  # nothing to shrink: it runs on the first page's small run
            ),
            Page(
                "practice/plot_quantize_and_time.py",
                "shipped: int8, timed, one runtime chosen",
                slow=True,  # it reads what the two pages above save
                small={
                    "LARGE_BATCH": 256,
                    "N_REPEATS": 3,
                    "CALLS_AT_BATCH_1": 5,
                    "CALLS_AT_LARGE_BATCH": 2,
                },
            ),
        ),
    ),
)

PAGES = tuple(page for section in SECTIONS for page in section.pages)
SLOW = frozenset(page.path.stem for page in PAGES if page.slow)
GPU = frozenset(page.path.stem for page in PAGES if page.gpu)


def reading_path(doc_role: str) -> str:
    """Write the reading path: a numbered list of sections, each linking its pages in order.

    Parameters
    ----------
    doc_role : str
        How the markup in use writes a document link: ``"{doc}"`` for MyST Markdown (the
        home page), ``":doc:"`` for reST (the gallery index).
    """
    items = []
    for number, section in enumerate(SECTIONS, start=1):
        notes = f"read {doc_role}`/{section.notes}`, then " if section.notes else ""
        links = ", ".join(f"{doc_role}`{page.title} </{page.docname}>`" for page in section.pages)
        items.append(f"{number}. **{section.title}**: {notes}{links}.")
    return "\n".join(items) + "\n"


class ReadingOrder:
    """sphinx-gallery sort key for the pages of one section: their manifest order."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> int:
        """Return the position of one example file in the manifest."""
        names = [page.path.name for page in PAGES]
        name = Path(filename).name
        if name not in names:
            raise ValueError(f"{name} is not in docs/ext/gallery_manifest.py: add it to a section")
        return names.index(name)

    def __repr__(self) -> str:
        """Name the key stably, so that Sphinx's cache does not see a new config."""
        return f"{self.__class__.__name__}()"
