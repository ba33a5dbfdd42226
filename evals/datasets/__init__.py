"""The dataset registry: a name (``gpqa``, ``hotpotqa``, ...) -> how to load and score it.

A loader is a plain function called with keyword arguments (it declares the ones it uses):
``data`` (a Path from ``--data``, or None to use the Hugging Face hub), ``subset`` and
``split`` (checked against the spec, its defaults filled in), and ``seed``; anything else it
declares with ``**options`` receives the caller's extra options. It returns or yields
:class:`~agot.evals.records.EvalRecord` objects.

Modules add datasets with :func:`register_dataset` at import time. Built-in sets load lazily
(their module is imported on first use); third-party packages register theirs through the
``agot.plugins`` entry-point group (:mod:`agot.registry`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agot.errors import DatasetError
from agot.evals.datasets.sources import DataSource, canonical_split
from agot.evals.records import EvalRecord
from agot.registry import Registry

Loader = Callable[..., Iterable[EvalRecord]]


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the runner needs to know about one dataset.

    ``scorers`` names the scorers (see :mod:`agot.evals.scorers`) or holds scorer objects; the
    first one's headline metric is the run's headline. ``answer_format`` is appended to every
    prompt (e.g. GPQA's ``Answer: X`` instruction). ``private`` marks sets whose authors ask
    that question text never appears in shareable logs (GPQA): the runner then redacts every
    item's question, option and context text from results and traces
    (:mod:`agot.evals.redaction`). ``labels`` (non-empty) marks a classification set whose
    gold is one of these label strings: the runner then also offers the Kairanban strategies
    (``kairanban``, ``kcs``, ``kcs+ibc``, ``single``, ``independent``) built for this label set
    (see :mod:`agot.evals.classification`).
    """

    name: str
    loader: Loader
    scorers: tuple[Any, ...] = ("qa",)
    subsets: tuple[str, ...] = ()
    default_subset: str | None = None
    splits: tuple[str, ...] = ()
    default_split: str | None = None
    answer_format: str | None = None
    private: bool = False
    description: str = ""
    how_to_get: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    #: Per subset: scorers and answer format that replace ``scorers``/``answer_format``
    #: (MuSiQue's ``full`` subset adds answerability and asks for "unanswerable").
    subset_scorers: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    subset_answer_formats: dict[str, str] = field(default_factory=dict)
    #: The dataset's own reading of a subset name (its short forms, e.g. Financial
    #: PhraseBank's ``50`` for ``sentences_50agree``), raising DatasetError for an unknown one.
    subset_of: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        # The first subset and split listed are the defaults unless the dataset names others.
        if self.default_subset is None and self.subsets:
            object.__setattr__(self, "default_subset", self.subsets[0])
        if self.default_split is None and self.splits:
            object.__setattr__(self, "default_split", self.splits[0])

    def __hash__(self) -> int:
        # A spec is known by its registered name; its options and scorers need not hash.
        return hash(self.name)

    def scorers_for(self, subset: str | None) -> tuple[Any, ...]:
        return self.subset_scorers.get(subset or "", self.scorers)

    def answer_format_for(self, subset: str | None) -> str | None:
        return self.subset_answer_formats.get(subset or "", self.answer_format)

    def resolve_subset(self, subset: str | None) -> str | None:
        if subset is None:
            return self.default_subset
        key = self.subset_of(subset) if self.subset_of else subset.strip().lower()
        if self.subsets and key not in self.subsets:
            raise DatasetError(
                f"{self.name} has no subset {subset!r}: choose from {', '.join(self.subsets)}"
            )
        return key

    def resolve_split(self, split: str | None) -> str | None:
        if split is None:
            return self.default_split
        key = split.strip()
        if not self.splits:
            return key  # the dataset names its own splits; pass them through untouched
        key = canonical_split(key, key)
        if key not in self.splits:
            raise DatasetError(
                f"{self.name} has no split {split!r}: choose from {', '.join(self.splits)}"
            )
        return key

    def load(
        self,
        *,
        data: str | Path | None = None,
        subset: str | None = None,
        split: str | None = None,
        seed: int = 0,
        limit: int | None = None,
        **options: Any,
    ) -> list[EvalRecord]:
        """Load, validate and (with ``limit``) truncate the records; ids must be unique."""
        kwargs: dict[str, Any] = {
            "data": Path(data).expanduser() if data is not None else None,
            "subset": self.resolve_subset(subset),
            "split": self.resolve_split(split),
            "seed": seed,
            **self.options,
            **options,
        }
        records = []
        seen: set[str] = set()
        for record in _call_loader(self.loader, kwargs):
            if not isinstance(record, EvalRecord):
                record = EvalRecord.model_validate(record)
            if record.id in seen:
                raise DatasetError(f"{self.name}: item id {record.id!r} occurs twice in the data")
            seen.add(record.id)
            records.append(record)
            if limit is not None and len(records) >= limit:
                break
        if not records:
            raise DatasetError(f"{self.name}: the data holds no items ({_where(kwargs)})")
        return records


def _call_loader(loader: Loader, kwargs: dict[str, Any]) -> Iterable[EvalRecord]:
    params = inspect.signature(loader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return loader(**kwargs)
    return loader(**{k: v for k, v in kwargs.items() if k in params})


def _where(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if v is not None and k != "seed")


#: Dataset specs by name.
DATASETS: Registry[DatasetSpec] = Registry(
    "dataset",
    error=DatasetError,
    aliases={
        "hotpot": "hotpotqa",
        "hotpot_qa": "hotpotqa",
        "2wiki": "2wikimultihopqa",
        "twowiki": "2wikimultihopqa",
        "2wikimqa": "2wikimultihopqa",
        "hybrid_qa": "hybridqa",
        "fanout": "fanoutqa",
        "morehop": "morehopqa",
        "sst-5": "sst5",
        "tweeteval": "tweet_eval",
        "tweet_eval_sentiment": "tweet_eval",
        "fpb": "financial_phrasebank",
    },
)
ALIASES = DATASETS.aliases

#: Built-in datasets and the module that registers each (imported on first use).
for _name, _module in {
    "gpqa": "agot.evals.datasets.gpqa",
    "hotpotqa": "agot.evals.datasets.hotpotqa",
    "musique": "agot.evals.datasets.musique",
    "2wikimultihopqa": "agot.evals.datasets.twowiki",
    "morehopqa": "agot.evals.datasets.morehopqa",
    "hybridqa": "agot.evals.datasets.hybridqa",
    "fanoutqa": "agot.evals.datasets.fanoutqa",
    "sst5": "agot.evals.datasets.sentiment",
    "tweet_eval": "agot.evals.datasets.sentiment",
    "financial_phrasebank": "agot.evals.datasets.sentiment",
    "game24": "agot.evals.datasets.exact_tasks",
    "crosswords": "agot.evals.datasets.exact_tasks",
}.items():
    DATASETS.register_lazy(_name, _module)


def register_dataset(
    name: str | DataSource | DatasetSpec, loader: Loader | None = None, **spec: Any
) -> DatasetSpec:
    """Register a dataset: ``register_dataset("game24", load, scorers=(Game24Scorer(),))``.

    ``name`` may be the dataset's :class:`~agot.evals.datasets.sources.DataSource`, which
    already names it and says how to get its data: ``register_dataset(SOURCE, load, ...)``
    takes both from it. ``spec`` takes the :class:`DatasetSpec` fields (``scorers``, default
    ``("qa",)``; ``subsets``, ``default_subset``, ``splits``, ``default_split``, where the
    first subset and split listed are the defaults; ``answer_format``, ``private``,
    ``description``, ``how_to_get``, ``labels``); ``scorer=`` is accepted for a single scorer.
    A later registration under the same name replaces the earlier one.
    """
    if isinstance(name, DatasetSpec):
        entry = name
    else:
        if isinstance(name, DataSource):
            spec.setdefault("how_to_get", name.how_to_get)
            name = name.dataset
        if loader is None:
            raise DatasetError(f"register_dataset({name!r}) needs a loader function")
        if "scorer" in spec:
            spec["scorers"] = (spec.pop("scorer"),)
        if "scorers" in spec and not isinstance(spec["scorers"], tuple):
            spec["scorers"] = tuple(spec["scorers"])
        for key in ("subsets", "splits", "labels"):
            if key in spec:
                spec[key] = tuple(spec[key])
        entry = DatasetSpec(name=name.strip().lower(), loader=loader, **spec)
    return DATASETS.register(entry.name, entry)


def get_dataset(name: str) -> DatasetSpec:
    """The spec registered under ``name`` (importing its module on first use)."""
    return DATASETS.get(name)


def dataset_names() -> list[str]:
    """Every dataset name known now (built-ins, registered ones and plugins)."""
    return DATASETS.names()


def load_dataset(name: str, **kwargs: Any) -> list[EvalRecord]:
    """``load_dataset("hotpotqa", data="dev.json", limit=10)``: see :meth:`DatasetSpec.load`."""
    return get_dataset(name).load(**kwargs)


__all__ = [
    "DatasetSpec",
    "EvalRecord",
    "Loader",
    "dataset_names",
    "get_dataset",
    "load_dataset",
    "register_dataset",
]
