"""A catalog of topics and ACLs a test made under its prefix and remembered is gone from the broker once it is
removed (the session's `infra` fixture removes what is left at its end), and nothing of another prefix is."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DescribeAclsRequest

from hearth.kit.acls import apply_acls, catalog_acls
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing import leftovers
from hearth.kit.testing.helpers import wait_for
from hearth.kit.topics import catalog_topics, ensure_topics

ANY = 1  # the Kafka protocol's "any" in an ACL filter


async def _state(bootstrap: str, prefix: str) -> tuple[set[str], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **kafka_client_options())
    await admin.start()
    try:
        topics = {t for t in await admin.list_topics() if t.startswith(prefix)}
        described = await admin._send_request(DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY))
        bindings = sum(len(acls) for _, name, _, acls in described.resources if name.startswith(prefix))
        return topics, bindings
    finally:
        await admin.close()


async def test_a_remembered_catalog_and_its_acls_are_removed_and_others_kept(infra, unique_name):
    mine, other = unique_name("left") + ".", unique_name("kept") + "."
    for prefix in (mine, other):
        await ensure_topics(infra.kafka_bootstrap, catalog_topics(prefix), partitions=1)
        await apply_acls(infra.kafka_bootstrap, catalog_acls(prefix), kafka_client_options())
    leftovers.remember(infra.kafka_bootstrap, mine, acls=True)
    topics, bindings = await _state(infra.kafka_bootstrap, mine)
    assert topics == set(catalog_topics(mine)) and bindings == len(set(catalog_acls(mine)))

    removed, acls = await leftovers.remove([mine])
    assert (removed, acls) == (1, len(set(catalog_acls(mine))))
    assert mine not in leftovers.remembered()

    async def gone() -> bool:
        return await _state(infra.kafka_bootstrap, mine) == (set(), 0)

    await wait_for(gone, timeout=30)
    kept_topics, kept_bindings = await _state(infra.kafka_bootstrap, other)
    assert kept_topics == set(catalog_topics(other)) and kept_bindings == len(set(catalog_acls(other)))
    leftovers.remember(infra.kafka_bootstrap, other, acls=True)  # this one goes at the session's end


async def test_a_catalog_on_a_broker_that_is_gone_is_forgotten_without_waiting():
    leftovers.remember("127.0.0.1:1", "gone-1.", acls=True)  # a private broker its module already stopped
    started = asyncio.get_running_loop().time()
    assert await leftovers.remove(["gone-1."]) == (0, 0)
    assert asyncio.get_running_loop().time() - started < 5
    assert "gone-1." not in leftovers.remembered()
