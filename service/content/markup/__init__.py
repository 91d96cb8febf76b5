"""The language blocks and layouts are written in: MJML with sandboxed Jinja.

Owns: which fields an editor may print (``fields``; the personal ones as placeholders), the Jinja
sandbox and its static check (``sandbox``), the static MJML checks (``mjml_checks``), the MJML
compiler (``mjml``), and rendering an editor's template for one variant (``compose``).

May import: ``service.content`` (the model's Block and Template) and ``preferences``.
"""
