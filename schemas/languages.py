"""Language identification of articles whose record does not say their language.

py3langid (a maintained fork of langid.py) ships its model inside its PyPI
package: nothing is downloaded at run time. It knows 97 languages, and all of
them stay candidates: an Italian article is ``it``, not forced into one of the
languages the rule packs cover (that would make it look Spanish, with high
confidence). Its probabilities are normalised over those languages.

The language is ``unknown`` rather than a guess when the text has too few
letters to judge (numbers, punctuation, a one-word headline), when the model
says the text has no linguistic content (``zxx``), or when the best
probability is below :data:`MIN_CONFIDENCE` (short or mixed-language text).
Only the first :data:`SAMPLE_CHARS` characters of title, summary and body
are read: the cost is bounded whatever the body's size (250 to 330 µs of
CPU here on a loaded machine; 300 characters identified every tagged
article of the seeds and the evaluation set as 600 did, at about half the cost),
and a news lead says what the language is.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

UNKNOWN: Final = "unknown"
"""The language of an article whose language could not be told."""
MIN_CONFIDENCE: Final = 0.5
"""Below this probability the best language is not trusted."""
SAMPLE_CHARS: Final = 300
"""How much of an article is read to identify its language."""
MIN_LETTERS: Final = 12
"""Fewer letters than this, and nothing is guessed."""
_NO_LANGUAGE: Final = "zxx"


@cache
def _identifier() -> LanguageIdentifier:
    """The model, loaded once per process (about a second; kept in memory, ~60 MB)."""
    # imported here: numpy and the model load only in processes that identify languages
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def sample_of(*texts: str | None) -> str:
    """Return the start of ``texts`` joined by line breaks, at most :data:`SAMPLE_CHARS` long."""
    sample = "\n".join(text[:SAMPLE_CHARS] for text in texts if text)
    return sample[:SAMPLE_CHARS]


def identify_language(text: str) -> tuple[str, str, float]:
    """Identify the language of ``text`` (read up to :data:`SAMPLE_CHARS` characters).

    Returns:
        ``(language, best_guess, confidence)``: ``language`` is the ISO 639-1
        code of ``best_guess`` when it is trusted, else :data:`UNKNOWN`;
        ``confidence`` is the model's probability of ``best_guess`` (0 when
        the text has too few letters to ask the model).
    """
    sample = text[:SAMPLE_CHARS]
    if sum(map(str.isalpha, sample)) < MIN_LETTERS:
        return UNKNOWN, UNKNOWN, 0.0
    best, confidence = _identifier().classify(sample)
    label = str(best)
    if label == _NO_LANGUAGE:
        return UNKNOWN, UNKNOWN, round(float(confidence), 4)
    trusted = confidence >= MIN_CONFIDENCE
    return (label if trusted else UNKNOWN), label, round(float(confidence), 4)
