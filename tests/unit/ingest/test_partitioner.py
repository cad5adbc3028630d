"""Our murmur2 partitioner picks the partitions aiokafka's send() picks."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from ingest.partitioner import murmur2, partition_of


@given(st.binary(max_size=300))
def test_murmur2_equals_aiokafkas(data: bytes) -> None:
    """Every length (every tail of 0 to 3 bytes) hashes as aiokafka (and the Java client) do."""
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
def test_partition_of_equals_the_default_partitioner(key: bytes, count: int) -> None:
    """A key goes to the partition send() would choose, so both paths agree."""
    partitions = list(range(count))
    assert partition_of(key, partitions) == DefaultPartitioner()(key, partitions, partitions)
