"""From a listed item to an article: its id, whether it is new, and the record to validate.

An item's key is the id its article gets, by the producer's rules
(:func:`schemas.article_id`): the canonical URL when the item has a link (so
one article reached through two feeds, or a feed that rewrites its GUIDs, is
one key), else the feed's GUID, else source, title and time. A digest of the
item's headline and text tells an edit from a repeat: an edited headline is
an update of the same id, not a new article.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.documents import Item
from ingest.page_text import PageText
from ingest.source_list import SourceSpec
from schemas import article_id, normalize_text


def item_key(item: Item, source_name: str) -> str:
    """The article id of ``item``.

    Raises:
        ValueError: the item has no link, GUID or title.
    """
    if item.url:
        try:
            return article_id(url=item.url)
        except ValueError:
            pass
    return article_id(
        id=item.guid, source=source_name, title=item.title, published_at=item.published
    )


def item_digest(item: Item) -> str:
    """A short digest of what the item says (headline and text): it changes when they are edited."""
    text = "\x1f".join(
        normalize_text(part or "") for part in (item.title, item.summary, item.content)
    )
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Sorted:
    """A listing's items, sorted against what the source's state has seen."""

    new: list[tuple[str, Item]]
    updated: list[tuple[str, Item]]
    unchanged: int
    digests: dict[str, str]
    """key -> digest of every item read, new or not."""


def sort_items(items: Iterable[Item], seen: Mapping[str, str], source_name: str) -> Sorted:
    """Split ``items`` into new ones, edited ones and repeats (duplicates within the listing dropped).

    Items without link, GUID or title are left out (nothing could identify them).
    """
    new: list[tuple[str, Item]] = []
    updated: list[tuple[str, Item]] = []
    unchanged = 0
    digests: dict[str, str] = {}
    for item in items:
        try:
            key = item_key(item, source_name)
        except ValueError:
            continue
        if key in digests:
            continue
        digest = digests[key] = item_digest(item)
        known = seen.get(key)
        if known is None:
            new.append((key, item))
        elif known != digest and not known.startswith("!"):
            updated.append((key, item))
        else:
            unchanged += 1
    return Sorted(new, updated, unchanged, digests)


def remember(seen: Mapping[str, str], digests: Mapping[str, str], limit: int) -> dict[str, str]:
    """``seen`` with ``digests`` added (latest last), keeping the ``limit`` latest keys."""
    if not digests and isinstance(seen, dict) and len(seen) <= limit:
        return seen
    merged = {key: value for key, value in seen.items() if key not in digests}
    merged.update(digests)
    if len(merged) > limit:
        merged = dict(list(merged.items())[-limit:])
    return merged


def article_record(
    key: str,
    item: Item,
    source: SourceSpec,
    *,
    page: PageText | None,
    declared_language: str | None,
    listing_url: str,
    edited: bool = False,
) -> dict[str, Any]:
    """The input record of ``item``'s article, for :func:`schemas.build_article`.

    The page's main text (``page``, when its page was fetched) is the body;
    else the feed's content, else its summary, else the headline. The
    language is the one declared (item, document, page), else the source's.
    ``edited`` marks a new version of an article produced before (same id).
    """
    body = (page.text if page else "") or item.content or item.summary or item.title
    summary = item.summary if body != item.summary else None
    language = (
        item.language or declared_language or (page.language if page else None) or source.language
    )
    published: datetime | str | None = item.published or (page.published if page else None)
    meta: dict[str, Any] = {"source_id": source.id, "fetched_from": listing_url}
    if item.guid:
        meta["guid"] = item.guid
    if source.tags:
        meta["tags"] = list(source.tags)
    if edited:
        meta["edited"] = True
    record: dict[str, Any] = {
        "id": key,
        "url": item.url,
        "source": source.name,
        "title": item.title or (page.title if page else None),
        "summary": summary,
        "body": body,
        "published_at": published,
        "language": language,
        "meta": meta,
    }
    return {name: value for name, value in record.items() if value is not None}
