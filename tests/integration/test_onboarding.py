"""Onboarding after consent: values, own words, timezone, window, language; skippable, changeable
with /settings, and surviving a restart of the service in the middle."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clients.models import ClientState
from service.runtime import Services
from service.sandbox.client import SandboxClient
from tests.people import PERSON, client_of, enrol, service_running
from tests.waiting import eventually


async def test_onboarding_in_spanish_with_a_typed_city_and_hour(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with service_running(services):
        chat = await enrol(telegram, sessions, language="es", onboard=False)
        values = await telegram.wait_for_messages(PERSON, chat.seen)
        question = values[-1]
        assert question["text"].startswith("¿Qué es lo más importante para ti?")
        await chat.press(question, "Familia")
        await chat.press(question, "Naturaleza")
        await chat.press(question, "Familia")  # changed their mind

        async def ticked() -> list[str]:
            shown = (await telegram.sent_messages(PERSON))[-1]["reply_markup"]["inline_keyboard"]
            return [button["text"] for row in shown for button in row if "✓" in button["text"]]

        await eventually(ticked, ["✓ Naturaleza"])  # the keyboard shows what is chosen

    # The service restarts in the middle of onboarding: the choices so far are kept.
    async with service_running(services):
        await chat.press(question, "Otra cosa")
        assert "¿Qué más es importante" in (await chat.says())["text"]
        await chat.send("mi música")
        assert "con tus propias palabras" in (await chat.says())["text"].lower()
        await chat.send("Quiero estar presente para mis hijos")
        assert "zona horaria" in (await chat.says())["text"]
        await chat.send("Atlantis")
        assert "No encontré esa ciudad" in (await chat.says())["text"]
        await chat.send("Bogotá")
        assert "también puedes escribir una hora" in (await chat.says())["text"].lower()
        await chat.send("19")
        language = await chat.says()
        await chat.press(language, "Español")
        done = await chat.says()
    assert "hacia las 19:00, hora de Bogota" in done["text"]
    client = await client_of(sessions)
    assert client.state == ClientState.active
    assert client.values == ["nature"]
    assert client.reasons == {
        "own_value": "mi música",
        "own": "Quiero estar presente para mis hijos",
    }
    assert (client.timezone, client.language) == ("America/Bogota", "es")
    assert (client.checkin_window_start, client.checkin_window_end) == (time(19), time(19, 59))


@pytest.mark.parametrize("window", ["Morning", "Evening"])
async def test_settings_changes_what_was_chosen_and_every_step_can_be_skipped(
    bot_service: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    window: str,
) -> None:
    chat = await enrol(telegram, sessions)  # skipped through everything
    client = await client_of(sessions)
    assert (client.values, client.reasons, client.timezone) == ([], {}, "America/New_York")
    await chat.send("/settings")
    question = await chat.says()
    await chat.press(question, "Work")
    await chat.press(question, "Done")
    await chat.press(await chat.says(), "Skip")  # own words
    await chat.press(await chat.says(), "Pacific")
    await chat.press(await chat.says(), window)
    await chat.press(await chat.says(), "English")
    done = await chat.says()
    assert f"in the {window.lower()}, Los Angeles time" in done["text"]
    client = await client_of(sessions)
    assert client.values == ["work"]
    assert client.timezone == "America/Los_Angeles"
    assert client.checkin_window_start == {"Morning": time(9), "Evening": time(18)}[window]
