"""The compile-time translation of literal messages gives exactly what jinja2.ext.i18n gives at
render time, and leaves every other use of ``_`` to it."""

import traceback

import pytest
from babel.support import Translations
from jinja2 import DictLoader, Environment, StrictUndefined, UndefinedError

from preferences import translations
from preferences.web import i18n
from preferences.web.constant_messages import ConstantMessages


class Catalogue(Translations):
    def __init__(self, messages):
        super().__init__()
        self._catalog = dict(messages)


MESSAGES = {"Hello": "Hallo", "Click <a href=\"%(href)s\">here</a>": "Klick <a href=\"%(href)s\">hier</a>",
            "Fine & dandy": "Gut & schön", "100%% sure": "100%% sicher", "Hi %(name)s": "Hi %(name)s!"}


def environments(templates):
    translations = Catalogue(MESSAGES)
    made = []
    for extensions in (["jinja2.ext.i18n"], ["jinja2.ext.i18n", ConstantMessages]):
        env = Environment(loader=DictLoader(templates), autoescape=True, undefined=StrictUndefined,
                          extensions=extensions)
        env.install_gettext_translations(translations, newstyle=True)
        env.constant_gettext = translations.gettext
        made.append(env)
    return made


@pytest.mark.parametrize("source", [
    '<p>{{ _("Hello") }}</p>',
    "<p>{{ _('Hello') }} {{ _(\"Fine & dandy\") }}</p>",
    '<p title="{{ _("Fine & dandy") }}">{{ _("100%% sure") }}</p>',
    '{{ _("Hi %(name)s", name=who) }}',
    '{{ _("Click <a href=\\"%(href)s\\">here</a>", href=who) }}',
    '{{ _("Hello")|upper }} {{ _("Hello") ~ "!" }} {{ gettext("Hello") }}',
    '{% if who %}{{ _("Hello") }}{% else %}{{ _("Unknown") }}{% endif %}',
    '{{ _("Not in the catalogue") }}',
])
def test_same_output_as_the_runtime_translation(source):
    runtime, constant = environments({"t": source})
    context = {"who": "<Bea & Co>"}
    assert constant.get_template("t").render(**context) == runtime.get_template("t").render(**context)


def test_a_literal_message_is_compiled_into_the_template():
    _, constant = environments({})
    code = constant.compile('{{ _("Hello") }}{{ _("Hi %(name)s", name=x) }}', raw=True)
    assert "'Hallo'" in code and "Hi %(name)s" in code and "'Hello'" not in code


def test_errors_after_a_translated_message_keep_their_line():
    _, constant = environments({"t": '{{ _("Hello") }}\n{{ _("Hello") }} {{ missing.attribute }}\n'})
    with pytest.raises(UndefinedError) as caught:
        constant.get_template("t").render()
    lines = [frame.lineno for frame in traceback.extract_tb(caught.tb) if frame.filename == "<template>"]
    assert lines == [2]


def test_without_a_gettext_the_extension_changes_nothing():
    env = Environment(loader=DictLoader({"t": '{{ _("Hello") }}'}), extensions=["jinja2.ext.i18n", ConstantMessages])
    env.install_gettext_translations(Catalogue(MESSAGES), newstyle=True)
    assert "'Hello'" in env.compile('{{ _("Hello") }}', raw=True)
    assert env.get_template("t").render() == "Hallo"


@pytest.mark.parametrize("locale", translations.available())
def test_the_pages_environments_translate_at_compile_time(locale):
    env = i18n.environment(locale)
    assert env.constant_gettext == translations.for_locale(locale).gettext
    title = env.from_string('{{ _("Your newsletter settings") }}')
    assert "'" + title.render() + "'" in env.compile('{{ _("Your newsletter settings") }}', raw=True)
    assert title.render() == {"en": "Your newsletter settings", "de": "Ihre Newsletter-Einstellungen"}[locale]
