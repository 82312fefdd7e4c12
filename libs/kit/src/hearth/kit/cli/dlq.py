"""`hearth dlq list|show|replay SERVICE`: see what a service could not accept, and have it processed again.

`list` and `show` read the DLQ topic.  `replay` asks the service itself (its `/dead-letters/replay` API, role
ops) to process its stored copies again: a replay reaches that service only, never other consumers of the
origin topic, and only letters the service recorded itself can be replayed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import urllib.error
import urllib.request
from typing import Any

from hearth.contracts import dlq_topic

from .. import dead_letters as dl
from .kafka import read_all, settings


def register(commands: Any) -> None:
    group = commands.add_parser("dlq", help="dead letters of a service").add_subparsers(dest="action", required=True)
    listing = group.add_parser("list", help="list dead letters with reason and origin")
    listing.add_argument("service")
    listing.set_defaults(run=list_letters)
    show = group.add_parser("show", help="one dead letter in full")
    show.add_argument("service")
    show.add_argument("position", help="PARTITION:OFFSET in the DLQ topic")
    show.set_defaults(run=show_letter)
    replay = group.add_parser(
        "replay",
        help="have the service process dead letters again (by letter id, as `list` shows them)",
        description="Calls the service's POST /dead-letters/replay with an ops token (--token or HEARTH_TOKEN).",
    )
    replay.add_argument("service")
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", default=[], type=int, help="letter ids to replay")
    which.add_argument("--all", action="store_true", help="every letter not replayed yet")
    replay.add_argument("--url", required=True, help="the service's base URL, e.g. http://127.0.0.1:8082")
    replay.add_argument("--token", default=None, help="a bearer token with role ops (default: $HEARTH_TOKEN)")
    replay.set_defaults(run=replay_letters)


def _topic(service: str) -> str:
    return settings().topic_prefix + dlq_topic(service)


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in record.headers}


async def _letters(service: str) -> list[Any]:
    return [record async for record in read_all([_topic(service)])]


async def list_letters(args: argparse.Namespace) -> int:
    letters = await _letters(args.service)
    print(f"{len(letters)} dead letter(s) on {_topic(args.service)}")
    for record in letters:
        h = _headers(record)
        print(
            f"{record.partition}:{record.offset}  letter {h.get(dl.LETTER_ID, '?'):<6}"
            f"  {h.get(dl.FAILED_AT, '?')}  {h.get(dl.REASON, '?'):<21}"
            f"  from {h.get(dl.ORIGIN_TOPIC)}[{h.get(dl.ORIGIN_PARTITION)}]@{h.get(dl.ORIGIN_OFFSET)}"
            f"  {h.get(dl.ERROR, '')[:120]}"
        )
    return 0


async def show_letter(args: argparse.Namespace) -> int:
    for record in await _letters(args.service):
        if f"{record.partition}:{record.offset}" == args.position:
            for key, value in _headers(record).items():
                print(f"{key}: {value}")
            print(f"key: {record.key.decode(errors='replace') if record.key else None}")
            print(f"value: {record.value.decode(errors='replace') if record.value else None}")
            return 0
    print(f"no dead letter at {args.position} on {_topic(args.service)}")
    return 1


async def replay_letters(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("HEARTH_TOKEN")
    if not token:
        print("no token: pass --token or set HEARTH_TOKEN (role ops)")
        return 2
    body = {"all": True} if args.all else {"ids": args.ids}
    url = f"{args.url.rstrip('/')}/dead-letters/replay"
    try:
        status, answer = await asyncio.to_thread(_post, url, body, token)
    except (urllib.error.URLError, OSError) as unreachable:
        print(f"cannot reach {args.service} at {args.url}: {getattr(unreachable, 'reason', unreachable)}")
        return 1
    if status != 200:
        print(f"{args.service} refused the replay ({status}): {answer}")
        return 1
    for letter in answer:
        print(f"letter {letter['id']}: {letter['outcome']}")
    print(f"{len(answer)} letter(s) replayed by {args.service}")
    return 0


def _post(url: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310  # the operator names the URL
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace")[:500]
