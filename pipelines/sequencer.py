"""Items leave the item processor in the order they arrived, whichever
worker finishes first."""

from __future__ import annotations

import asyncio


class Sequencer:
    """Tickets in arrival order; ``turn(n)`` waits until tickets before n are done."""

    def __init__(self) -> None:
        self.issued = 0
        self.served = 0
        self.finished: set[int] = set()
        self.waiting: dict[int, asyncio.Future[None]] = {}

    def ticket(self) -> int:
        self.issued += 1
        return self.issued - 1

    async def turn(self, ticket: int) -> None:
        if ticket != self.served:
            self.waiting[ticket] = asyncio.get_running_loop().create_future()
            await self.waiting[ticket]

    def done(self, ticket: int) -> None:
        # A ticket given up early (an error before its turn) must not hold the others.
        self.finished.add(ticket)
        while self.served in self.finished:
            self.finished.remove(self.served)
            self.served += 1
        if (waiter := self.waiting.pop(self.served, None)) is not None and not waiter.done():
            waiter.set_result(None)
