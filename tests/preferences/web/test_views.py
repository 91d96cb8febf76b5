"""The preference form's choices fragment (cached per state by the page views)."""

from preferences.web.form import Choices
from preferences.web.views import choices_html


def choices(pause="none", wanted=("garden", "outdoor")):
    return Choices(
        frequencies=(("weekly", "Weekly", True), ("monthly", "Monthly", False)),
        pauses=(("none", "No pause", pause == "none"), ("2w", "Pause for 2 weeks", pause == "2w")),
        pause_until="", pause_min="2026-11-23", pause_max="2027-11-23",
        groups=tuple((g, g.title() + " <&>", g in wanted) for g in ("garden", "outdoor", "kids")),
        locales=(("de", "Deutsch", True), ("en", "English", False)),
    )


def test_the_fragment_shows_each_choice_and_what_is_selected():
    first = choices_html("en", choices(), ())
    paused = choices_html("en", choices(pause="2w"), ())
    assert 'value="2w" checked' in paused and 'value="none" checked' in first
    assert 'id="group-kids" value="kids">' in first and 'id="group-kids" value="kids" checked>' not in first
    assert "Kids &lt;&amp;&gt;" in first  # labels are escaped like any other value
    german = choices_html("de", choices(), ())
    assert "Wie oft?" in german and "How often?" in first


def test_a_field_error_is_part_of_the_fragment():
    html = choices_html("en", choices(), (("pause", "Please choose one of the offered pauses."),))
    assert 'id="pause" class="invalid" aria-describedby="pause-error"' in html
    assert '<p class="error" id="pause-error">Please choose one of the offered pauses.</p>' in html
    assert 'id="frequency" class="invalid"' not in html
