"""The union of owners' packs a worker builds from the rules topic, pack by pack."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from schemas.rules import PackRecord, RulePack, RuleSetMessage, RuleSpec, pack_version
from streams.pack_union import (
    LEGACY_OWNER,
    Outcome,
    PackUnion,
    compile_plan,
    union_version,
)
from streams.rules import RuleSet


def rule(rule_id: str, query: str = "alpha", **fields: Any) -> RuleSpec:
    """A small valid rule."""
    return RuleSpec(
        id=rule_id, title=f"Rule {rule_id}", category="test", severity="low", query=query, **fields
    )


def record(owner: str, name: str, *rules: RuleSpec, by: str = "tester") -> PackRecord:
    """A pack record as `rules publish` writes it."""
    return PackRecord(
        owner=owner, name=name, version=pack_version(rules), published_by=by, rules=rules
    )


class Topic:
    """Feeds records to a union with growing offsets, as the follower does."""

    def __init__(self) -> None:
        self.union = PackUnion()
        self.offset = 0

    def put(self, key: str, value: bytes | None) -> None:
        self.union.take(key.encode(), value, self.offset)
        self.offset += 1

    def publish(self, *records: PackRecord) -> None:
        for r in records:
            self.put(r.key, r.encode())

    def rebuild(self) -> Outcome:
        outcome = compile_plan(self.union.plan(), compile_packs)
        self.union.apply(outcome)
        return outcome


def compile_packs(packs: Sequence[RulePack], version: str) -> RuleSet:
    return RuleSet.compile(packs, version=version)


def in_force(topic: Topic) -> dict[str, str]:
    return {key: entry.version for key, entry in topic.union.in_force.items()}


def test_record_survives_the_topic_small() -> None:
    """A pack record reloads equal from its bytes, which leave defaults out."""
    r = record("ana", "drones", rule("r1", alert={"policy": "threshold", "within": "2h"}))
    reloaded = PackRecord.model_validate_json(r.encode())
    assert reloaded == r
    assert reloaded.rules[0].alert.within.total_seconds() == 7200
    assert b'"fields"' not in r.encode()  # a default, left out


def test_two_owners_packs_make_one_union() -> None:
    """Each owner's pack is in the rule set; its version is the same whatever the order."""
    first, second = Topic(), Topic()
    ana, bob = record("ana", "drones", rule("a1")), record("bob", "oil", rule("b1", "crude"))
    first.publish(ana, bob)
    second.publish(bob, ana)
    outcome = first.rebuild()
    assert outcome.rules is not None
    assert set(outcome.rules.rules) == {"a1", "b1"}
    assert outcome.rules.version == second.rebuild().rules.version  # type: ignore[union-attr]
    assert in_force(first) == {"ana/drones": ana.version, "bob/oil": bob.version}


def test_publishing_a_pack_replaces_only_that_pack() -> None:
    """A new version of one pack leaves another owner's pack in force."""
    topic = Topic()
    topic.publish(record("ana", "drones", rule("a1")), record("bob", "oil", rule("b1")))
    topic.rebuild()
    newer = record("ana", "drones", rule("a2"))
    topic.publish(newer)
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert set(outcome.rules.rules) == {"a2", "b1"}


def test_a_tombstone_deletes_a_pack() -> None:
    """Deleting a pack takes its rules out; with no pack left, the topic has none."""
    topic = Topic()
    topic.publish(record("ana", "drones", rule("a1")), record("bob", "oil", rule("b1")))
    topic.rebuild()
    topic.put("ana/drones", None)
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert set(outcome.rules.rules) == {"b1"}
    topic.put("bob/oil", None)
    assert not topic.union.has_packs


def test_a_broken_new_version_keeps_the_previous_one_and_others_move_on() -> None:
    """A pack version that fails to compile is reported; its previous version stays, others update."""
    topic = Topic()
    good = record("ana", "drones", rule("a1"))
    topic.publish(good, record("bob", "oil", rule("b1")))
    topic.rebuild()
    topic.publish(
        record("ana", "drones", rule("a1", "alpha AND (")), record("bob", "oil", rule("b2"))
    )
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert set(outcome.rules.rules) == {"a1", "b2"}
    assert in_force(topic)["ana/drones"] == good.version
    [failure] = topic.union.failures.values()
    assert failure.key == "ana/drones"
    assert failure.error.startswith("ana/drones: rule a1: query: the query ends too early")


def test_a_broken_pack_on_a_fresh_worker_is_left_out() -> None:
    """Without a previous version, a pack that does not compile is not in the set; the rest is."""
    topic = Topic()
    topic.publish(record("ana", "drones", rule("a1", "(")), record("bob", "oil", rule("b1")))
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert set(outcome.rules.rules) == {"b1"}
    assert set(topic.union.failures) == {"ana/drones"}


def test_a_fixed_version_clears_the_failure() -> None:
    """Publishing a working version after a broken one installs it and forgets the failure."""
    topic = Topic()
    topic.publish(record("ana", "drones", rule("a1", "(")))
    topic.rebuild()
    fixed = record("ana", "drones", rule("a1", "alpha"))
    topic.publish(fixed)
    topic.rebuild()
    assert in_force(topic) == {"ana/drones": fixed.version}
    assert not topic.union.failures


def test_a_rule_id_belongs_to_the_pack_that_held_it() -> None:
    """A new pack using a rule id another pack holds is refused; the holder keeps the rule."""
    topic = Topic()
    topic.publish(record("ana", "drones", rule("shared", "alpha")))
    topic.rebuild()
    topic.publish(record("bob", "oil", rule("shared", "crude"), rule("b1")))
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert outcome.rules.rules["shared"].query == "alpha"
    assert "b1" not in outcome.rules.rules
    [failure] = topic.union.failures.values()
    assert failure.key == "bob/oil"
    assert "ana/drones" in failure.error


def test_among_new_packs_the_first_published_keeps_a_rule_id() -> None:
    """On a worker that sees both at once, the earlier record wins the clash."""
    topic = Topic()
    topic.publish(record("bob", "oil", rule("shared", "crude")))
    topic.publish(record("ana", "drones", rule("shared", "alpha")))
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert outcome.rules.rules["shared"].query == "crude"


def test_the_old_single_rule_set_still_counts_until_replaced() -> None:
    """The legacy record's packs are in the set; a migrated copy replaces them; its tombstone ends it."""
    topic = Topic()
    legacy = RuleSetMessage(
        version="v0", packs=(RulePack(name="drones", rules=(rule("a1"), rule("a2"))),)
    )
    topic.put("ruleset", legacy.model_dump_json().encode())
    outcome = topic.rebuild()
    assert outcome.rules is not None
    assert set(outcome.rules.rules) == {"a1", "a2"}
    assert next(iter(topic.union.in_force.values())).owner == LEGACY_OWNER
    migrated = record("ana", "drones", rule("a1"), rule("a2"))
    topic.publish(migrated)  # before the tombstone: the copies must not clash
    topic.rebuild()
    assert in_force(topic) == {"ana/drones": migrated.version}
    assert not topic.union.failures
    topic.put("ruleset", None)
    topic.rebuild()
    assert in_force(topic) == {"ana/drones": migrated.version}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("ana/drones", b"{not json", id="not-json"),
        pytest.param("bob/drones", record("ana", "drones", rule("x")).encode(), id="wrong-key"),
    ],
)
def test_an_unreadable_record_keeps_the_version_in_force(key: str, value: bytes) -> None:
    """A record that cannot be a pack of its key is a failure; the pack in force stays."""
    topic = Topic()
    good = record("ana", "drones", rule("a1"))
    topic.publish(good)
    topic.rebuild()
    topic.put(key, value)
    topic.rebuild()
    assert in_force(topic) == {"ana/drones": good.version}
    assert "unreadable" in topic.union.failures[key].error


def test_union_version_names_packs_and_versions() -> None:
    """The rule set's version changes with any pack's version and not with the order."""
    topic = Topic()
    topic.publish(record("ana", "drones", rule("a1")), record("bob", "oil", rule("b1")))
    entries = topic.union.plan().chosen
    assert union_version(entries) == union_version(tuple(reversed(entries)))
    assert union_version(entries) != union_version(entries[:1])
