"""`hearth subscribers list|add|credentials|remove|rewind`: registered subscribers on a running broker.

The registry (`subscribers.toml` in hearth-contracts) says who may read what; these commands make a broker agree,
as its administrator (HEARTH_KAFKA_* of the broker's super user, e.g. `eval "$(python3 deploy/local/infra.py
env)"` locally, or the `topics` one-shot of docker compose). `add` is idempotent: it puts the ACLs the registry
derives in place (and removes ones the entry no longer grants), creates the SCRAM user when it does not exist
yet, and prints the client settings; a password is shown only when it was set by this command. Kafka keeps
salted passwords only: a lost one is replaced with `credentials --rotate`. `rewind` moves a subscriber's consumer
group (stopped) back to a date, so it reads again what the topics still hold from then on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from hearth.contracts import CATALOG
from hearth.contracts.subscribers import SUBSCRIBERS, Subscriber, load_subscribers

from .. import scram
from ..acls import create_acls, delete_acls, delete_principal_acls, principal_acls, subscriber_acls
from ..client_settings import FORMATS, ClientSettings
from ..group_offsets import GroupActiveError, rewind_group
from ..settings import KafkaSettings
from .errors import CliError
from .kafka import settings


def register(commands: Any) -> None:
    group = commands.add_parser(
        "subscribers", help="registered subscribers: their users and ACLs on a broker", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="action", required=True)  # fmt: skip
    listing = group.add_parser("list", help="the registry, and what the broker has for each entry")
    listing.add_argument("--offline", action="store_true", help="the registry only; do not ask the broker")
    listing.set_defaults(run=list_subscribers)
    for name, run, help_text in [
        ("add", add, "create the user (if new) and the ACLs of a registered subscriber; print its client settings"),
        ("credentials", credentials, "print a subscriber's client settings (--rotate: with a new password)"),
        ("remove", remove, "delete a subscriber's user and every ACL of its principal"),
    ]:
        command = group.add_parser(name, help=help_text)
        command.add_argument("name")
        command.set_defaults(run=run)
        if name != "remove":
            command.add_argument("--format", choices=FORMATS, default="env", help="settings for which client")
            command.add_argument(
                "--bootstrap", help="the address the subscriber uses (default: HEARTH_KAFKA_BOOTSTRAP)"
            )
            command.add_argument(
                "--ca-file", help="the CA file as the subscriber has it (default: HEARTH_KAFKA_CA_FILE)"
            )
            command.add_argument(
                "--password-file", type=Path, help="set this password (first line) instead of a random one"
            )
        if name == "credentials":
            command.add_argument("--rotate", action="store_true", help="set a new password and show it")
    rewind = group.add_parser(
        "rewind", help="move a subscriber's consumer group back to a date: it reads the history the topics still hold"
    )
    rewind.add_argument("name")
    rewind.add_argument(
        "--since", required=True, type=_utc, help="ISO date or time, e.g. 2027-01-01 (UTC unless given)"
    )
    rewind.add_argument("--group", default="main", help="the group within the subscriber's prefix (default: main)")
    rewind.set_defaults(run=rewind_subscriber)
    for command in group.choices.values():
        command.add_argument("--registry", type=Path, help="another registry file (to try an entry before it ships)")


def _registry(args: argparse.Namespace) -> Mapping[str, Subscriber]:
    return load_subscribers(args.registry.read_text(encoding="utf-8")) if args.registry else SUBSCRIBERS


def _admin(config: KafkaSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=config.kafka_bootstrap, **config.kafka_client_options())


def _entry(args: argparse.Namespace) -> Subscriber:
    registry = _registry(args)
    if args.name not in registry:
        raise CliError(f"{args.name} is not a registered subscriber (registered: {', '.join(registry) or 'none'})", 2)
    return registry[args.name]


def _chosen_password(path: Path | None) -> str | None:
    if path is None:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].strip():
        raise CliError(f"{path}: the first line holds the password, and it is empty", 2)
    return lines[0].strip()


async def list_subscribers(args: argparse.Namespace) -> int:
    registry, config = _registry(args), settings()
    users: dict[str, tuple[str, ...]] = {}
    grants: dict[str, str] = {}
    if not args.offline:
        admin = _admin(config)
        await admin.start()
        try:
            users = await scram.scram_users(admin, list(registry) or None)
            for s in registry.values():
                have = set(await principal_acls(admin, s.principal))
                wanted = set(subscriber_acls(s, config.topic_prefix))
                grants[s.name] = f"{len(have & wanted)}/{len(wanted)} ACLs" + (" (and others)" if have - wanted else "")
        finally:
            await admin.close()
    for s in registry.values():
        state = "" if args.offline else f"  [{'user' if s.name in users else 'no user'}, {grants[s.name]}]"
        print(f"{s.name:<24} {s.team} <{s.contact}>{state}\n    {s.description}\n    reads {', '.join(s.topics)}")
    print(f"{len(registry)} registered subscriber(s)")
    return 0


async def add(args: argparse.Namespace) -> int:
    return await _apply(args, rotate=False, create=True)


async def credentials(args: argparse.Namespace) -> int:
    return await _apply(args, rotate=args.rotate, create=False)


async def _apply(args: argparse.Namespace, *, rotate: bool, create: bool) -> int:
    subscriber, config = _entry(args), settings()
    mechanism, chosen, password = config.kafka_sasl_mechanism, _chosen_password(args.password_file), None
    admin = _admin(config)
    await admin.start()
    try:
        exists = subscriber.name in await scram.scram_users(admin, [subscriber.name])
        if not exists and not create:
            raise CliError(f"{subscriber.name} has no user on {config.kafka_bootstrap}: run `hearth subscribers add`")
        if create:
            await _grant(admin, subscriber, config.topic_prefix)
        if rotate or not exists:
            password = chosen or scram.new_password()
            await scram.set_password(admin, subscriber.name, password, mechanism)
    finally:
        await admin.close()
    done = "password set" if password else "user exists, password unchanged"
    granted = f"; ACLs in place for prefix {config.topic_prefix!r}" if create else ""
    print(f"{subscriber.name}: {done}{granted}", file=sys.stderr)
    print(_client_settings(args, config, subscriber, password).render(args.format))
    return 0


async def _grant(admin: AIOKafkaAdminClient, subscriber: Subscriber, prefix: str) -> None:
    """The registry's bindings, and none of the ones it no longer grants (in this environment's prefix only)."""
    wanted = subscriber_acls(subscriber, prefix)
    await create_acls(admin, wanted)
    ours = {prefix + spec.topic for spec in CATALOG.values()} | {subscriber.group_prefix(prefix)}
    stale = [b for b in await principal_acls(admin, subscriber.principal) if b.name in ours and b not in wanted]
    await delete_acls(admin, stale)


def _client_settings(
    args: argparse.Namespace, config: KafkaSettings, subscriber: Subscriber, password: str | None
) -> ClientSettings:
    prefix = config.topic_prefix
    return ClientSettings(
        bootstrap=args.bootstrap or config.kafka_bootstrap,
        security_protocol=config.kafka_security_protocol,
        sasl_mechanism=config.kafka_sasl_mechanism,
        username=subscriber.name,
        password=password,
        ca_file=args.ca_file or config.kafka_ca_file,
        topic_prefix=prefix,
        group_id=f"{subscriber.group_prefix(prefix)}main",
        topics=tuple(prefix + topic for topic in subscriber.topics),
    )


async def remove(args: argparse.Namespace) -> int:
    config = settings()
    admin = _admin(config)
    await admin.start()
    try:
        had_user = await scram.delete_user(admin, args.name, config.kafka_sasl_mechanism)
        deleted = await delete_principal_acls(admin, f"User:{args.name}")
    finally:
        await admin.close()
    print(f"{args.name}: {'user deleted' if had_user else 'no user'}, {deleted} ACL binding(s) deleted")
    return 0


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def rewind_subscriber(args: argparse.Namespace) -> int:
    subscriber, config = _entry(args), settings()
    group = subscriber.group_prefix(config.topic_prefix) + args.group
    topics = [config.topic_prefix + topic for topic in subscriber.topics]
    try:
        offsets = await rewind_group(config, group, topics, args.since)
    except GroupActiveError as busy:
        raise CliError(str(busy)) from busy
    for tp, offset in sorted(offsets.items()):
        print(f"{tp.topic}[{tp.partition}] -> {offset}")
    print(
        f"consumer group {group}: {len(offsets)} partition(s) set to their first record since {args.since.isoformat()}"
    )
    return 0
