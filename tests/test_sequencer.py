"""pipelines.sequencer.Sequencer: items leave in the order they arrived,
whichever finishes its work first."""

from __future__ import annotations

import asyncio

from pipelines.sequencer import Sequencer


def run(coroutine):
    """Run ``coroutine``; a sequencer that never serves a ticket fails the test rather than hanging it."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout=2))


async def take_turn(sequencer: Sequencer, ticket: int, work: float, served: list[int]) -> None:
    await asyncio.sleep(work)  # e.g. a worker process extracting the page
    await sequencer.turn(ticket)
    served.append(ticket)
    sequencer.done(ticket)


def test_tickets_are_served_in_order_whatever_order_work_finishes():
    async def main() -> list[int]:
        sequencer, served = Sequencer(), []
        work = [0.03, 0.0, 0.02, 0.01, 0.0]
        tickets = [sequencer.ticket() for _ in work]
        await asyncio.gather(*(take_turn(sequencer, t, w, served) for t, w in zip(tickets, work)))
        return served

    assert run(main()) == [0, 1, 2, 3, 4]


def test_ticket_given_up_before_its_turn_does_not_block_later_ones():
    async def main() -> list[int]:
        sequencer, served = Sequencer(), []
        first, dropped, last = sequencer.ticket(), sequencer.ticket(), sequencer.ticket()
        sequencer.done(dropped)  # an error before its turn
        waiting = asyncio.ensure_future(take_turn(sequencer, last, 0, served))
        await asyncio.sleep(0.01)
        assert served == []  # still behind the first
        await take_turn(sequencer, first, 0, served)
        await waiting
        return served

    assert run(main()) == [0, 2]


def test_ticket_given_up_while_waiting_does_not_block_later_ones():
    async def main() -> list[int]:
        sequencer, served = Sequencer(), []
        first, cancelled, last = sequencer.ticket(), sequencer.ticket(), sequencer.ticket()
        waiter = asyncio.ensure_future(sequencer.turn(cancelled))
        waiting = asyncio.ensure_future(take_turn(sequencer, last, 0, served))
        await asyncio.sleep(0.01)
        waiter.cancel()
        sequencer.done(cancelled)
        await take_turn(sequencer, first, 0, served)
        await waiting
        return served

    assert run(main()) == [0, 2]
