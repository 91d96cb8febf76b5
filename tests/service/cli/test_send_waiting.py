"""How `newsletter send`'s progress line shows what the send waits for."""

from __future__ import annotations

from datetime import date, datetime, timezone

from service.cli.sending.display import progress_description, waiting_text
from service.sending.spec import SendSpec
from service.sending.waiting import Waiting
from service.settings import Settings


def test_a_wait_with_an_end_shows_the_local_time_it_ends():
    until = datetime(2026, 12, 3, 12, 5, 10, tzinfo=timezone.utc)
    status = Waiting("waiting for 500 rows claimed by a stopped worker; their lease ends", until)
    local = until.astimezone().strftime("%H:%M:%S")
    assert waiting_text(status) == f"waiting for 500 rows claimed by a stopped worker; their lease ends {local}"


def test_the_progress_line_names_the_edition_and_the_wait():
    spec = SendSpec(Settings(database_url="sqlite://"), "weekly", date(2026, 11, 23), "maildir:/tmp/x")
    assert progress_description(spec, None) == "weekly 2026-11-23"
    text = progress_description(spec, Waiting("no worker has taken work for 30 s: is "
                                              "`dramatiq service.sending.dramatiq_engine` running? [x]"))
    assert text == ("weekly 2026-11-23 [yellow]no worker has taken work for 30 s: is "
                    "`dramatiq service.sending.dramatiq_engine` running? \\[x][/]")


def test_a_deferring_relay_shows_its_answer_and_the_next_try():
    from rich.console import Console

    from service.sending.waiting import relay_wait

    deferred_at = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc)
    status = relay_wait("451 4.7.1 greylisted, try again later (RCPT TO)", deferred_at, 30.0)
    spec = SendSpec(Settings(database_url="sqlite://"), "weekly", date(2026, 11, 23), "smtp://relay:25")
    console = Console(record=True, width=200, color_system=None)
    console.print(progress_description(spec, status))
    next_try = datetime(2026, 12, 3, 12, 0, 30, tzinfo=timezone.utc).astimezone().strftime("%H:%M:%S")
    assert console.export_text().strip() == (
        "weekly 2026-11-23 waiting for the relay, which answered: 451 4.7.1 greylisted, try again later "
        f"(RCPT TO); next try by {next_try}")


def test_recipients_waiting_for_their_retry_are_counted_with_the_relays_words_and_the_next_retry():
    from service.sending.waiting import retry_wait

    at = datetime(2026, 12, 3, 12, 1, 0, tzinfo=timezone.utc)
    spec = SendSpec(Settings(database_url="sqlite://"), "weekly", date(2026, 11, 23), "smtp://relay:25")
    text = progress_description(spec, retry_wait(1200, at, "451 4.7.1 greylisted (RCPT TO)"))
    assert text == ("weekly 2026-11-23 [yellow]waiting to retry 1,200 recipients the relay deferred (the relay "
                    f"answered: 451 4.7.1 greylisted (RCPT TO)); next retry at {at.astimezone():%H:%M:%S}[/]")
