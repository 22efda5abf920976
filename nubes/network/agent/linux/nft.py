"""nftables through ``nft``: a whole ruleset applied in one atomic transaction, tables listed and removed."""

from __future__ import annotations

import json

from nubes.network.agent.linux import commands


async def apply(text: str, netns: str | None = None) -> None:
    """Apply ``text`` with one ``nft -f -``: all of it, or (on any error) none of it."""
    await commands.run(["nft", "-f", "-"], netns=netns, stdin=text, timeout=60)


async def tables(netns: str | None = None) -> set[tuple[str, str]]:
    """(family, name) of every table in the namespace."""
    res = await commands.run(["nft", "-j", "list", "tables"], netns=netns)
    data = json.loads(res.stdout or "{}")
    return {(t["table"]["family"], t["table"]["name"]) for t in data.get("nftables", []) if "table" in t}


async def delete_tables(names: set[tuple[str, str]], netns: str | None = None) -> None:
    if names:
        await apply("".join(f"delete table {family} {name}\n" for family, name in sorted(names)), netns)
