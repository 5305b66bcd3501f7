"""Pacing: the sender's calls, booked against a fake clock, stay inside Telegram's limits."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.config import load_settings
from service.outbox.pacing import GROUP_WINDOW, MARGIN, Pacer, SendLimits

PERSON = 42
OTHER = 43
GROUP = -1001


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def go(pacer: Pacer, clock: Clock, chat_id: int, method: str = "sendMessage") -> float:
    """Book a call and let the clock run to its slot; the time it goes."""
    delay = pacer.book(chat_id, method)
    assert delay is not None, f"chat {chat_id} has to wait"
    clock.now += delay
    return clock.now


def test_limits_come_from_the_settings() -> None:
    settings = load_settings(
        send_per_second=100, send_per_chat_per_second=0, send_per_group_per_minute=0
    )
    assert SendLimits.from_settings(settings) == SendLimits(100, 0, 0)


def test_without_limits_nothing_waits(clock: Clock) -> None:
    pacer = Pacer(SendLimits(0, 0, 0), clock)
    assert all(pacer.book(PERSON, "sendMessage") == 0 for _ in range(1000))
    assert all(pacer.book(GROUP, "sendMessage") == 0 for _ in range(1000))
    assert pacer.waiting_chats() == []
    assert pacer.next_ready() is None


def test_calls_are_spread_evenly_a_little_under_the_overall_limit(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=30, per_chat_per_second=0), clock)
    times = [go(pacer, clock, chat) for chat in range(300)]
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(times)}
    assert gaps == {round((1 + MARGIN) / 30, 9)}  # no bursts
    assert 30 * 0.95 < 299 / (times[-1] - times[0]) < 30


def test_a_call_booked_late_now_and_then_does_not_slow_the_rate(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=30, per_chat_per_second=0), clock)
    times = []
    for chat in range(300):
        times.append(go(pacer, clock, chat))
        # mostly back at once for the next call; every third time only after its slot passed
        clock.now += (1 + MARGIN) / 30 + 0.004 if chat % 3 == 2 else 0.001
    assert 299 / (times[-1] - times[0]) > 30 * 0.95
    assert all(b - a > 1.0 for a, b in zip(times, times[30:], strict=False))


@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 3, -1, -2]), st.floats(0, 0.2)), min_size=1, max_size=400
    )
)
def test_no_second_and_no_chat_ever_gets_more_than_the_limits(
    calls: list[tuple[int, float]],
) -> None:
    clock = Clock()
    pacer = Pacer(SendLimits(per_second=30, per_chat_per_second=1, per_group_per_minute=20), clock)
    sent: list[tuple[float, int]] = []
    for chat, pause in calls:
        clock.now += pause
        delay = pacer.book(chat, "sendMessage")
        if delay is not None:
            sent.append((clock.now + delay, chat))
    times = sorted(at for at, _ in sent)
    assert all(b - a > 1.0 for a, b in zip(times, times[30:], strict=False))
    for chat in {chat for _, chat in sent}:
        mine = sorted(at for at, to in sent if to == chat)
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(mine))
        assert all(b - a > 60.0 for a, b in zip(mine, mine[20:], strict=False))


def test_a_chat_gets_one_message_a_second(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=0, per_chat_per_second=1), clock)
    assert pacer.book(PERSON, "sendMessage") == 0
    assert pacer.book(PERSON, "editMessageText") is None
    assert pacer.book(OTHER, "sendMessage") == 0  # other chats do not wait
    assert sorted(pacer.waiting_chats()) == [PERSON, OTHER]
    assert pacer.next_ready() == pytest.approx(1 + MARGIN)
    clock.now += 1 + MARGIN
    assert pacer.waiting_chats() == []
    assert pacer.book(PERSON, "sendMessage") == 0


def test_calls_that_are_no_messages_are_not_paced(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=1, per_chat_per_second=1), clock)
    assert pacer.book(PERSON, "sendMessage") == 0
    assert pacer.book(PERSON, "answerCallbackQuery") == 0
    assert pacer.book(PERSON, "setMyCommands") == 0
    assert pacer.book(OTHER, "sendMessage") == pytest.approx(1 + MARGIN)


def test_a_group_gets_a_limited_number_a_minute(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=0, per_chat_per_second=1, per_group_per_minute=20), clock)
    first = go(pacer, clock, GROUP)
    for _ in range(19):
        clock.now += 1 + MARGIN
        go(pacer, clock, GROUP)
    clock.now += 1 + MARGIN
    assert pacer.book(GROUP, "sendMessage") is None
    assert pacer.waiting_chats() == [GROUP]
    assert pacer.next_ready() == pytest.approx(first + GROUP_WINDOW - clock.now)
    for _ in range(25):  # a person's chat has no such limit
        clock.now += 1 + MARGIN
        go(pacer, clock, PERSON)
    clock.now = first + GROUP_WINDOW
    assert pacer.book(GROUP, "sendMessage") == 0


def test_a_chat_telegram_told_to_wait_waits(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=0, per_chat_per_second=0), clock)
    pacer.hold(PERSON, 7)
    assert pacer.book(PERSON, "sendMessage") is None
    assert pacer.book(OTHER, "sendMessage") == 0
    assert pacer.waiting_chats() == [PERSON]
    assert pacer.next_ready() == 7
    clock.now += 7
    assert pacer.book(PERSON, "sendMessage") == 0


def test_a_call_to_try_again_holds_back_its_lane_and_less_urgent_ones_only(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=0, per_chat_per_second=0), clock)
    crisis, reply, scheduled = 0, 2, 3
    pacer.hold_lane(PERSON, 4, reply)
    assert pacer.book(PERSON, "sendMessage", reply) is None  # it would overtake the failed one
    assert pacer.book(PERSON, "sendMessage", scheduled) is None
    assert pacer.book(PERSON, "sendMessage", crisis) == 0  # a crisis answer never waits for it
    assert pacer.book(OTHER, "sendMessage", scheduled) == 0
    assert pacer.waiting_chats() == []  # the chat as a whole may still be read
    clock.now += 4
    assert pacer.book(PERSON, "sendMessage", scheduled) == 0


def test_chats_that_may_have_messages_again_are_forgotten(clock: Clock) -> None:
    pacer = Pacer(SendLimits(per_second=0, per_chat_per_second=1, per_group_per_minute=20), clock)
    for chat in range(-500, 500):
        pacer.book(chat, "sendMessage")
    assert len(pacer.waiting_chats()) == 1000
    clock.now += GROUP_WINDOW
    assert pacer.waiting_chats() == []
    assert pacer.next_ready() is None
    assert not pacer._chat_ready
    assert not pacer._groups
