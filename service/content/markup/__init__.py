"""The language blocks and layouts are written in: MJML with sandboxed Jinja.

Owns: which fields an editor may print (``fields``; the personal ones as placeholders), the Jinja
sandbox and its static check (``sandbox``), the static MJML checks (``mjml_checks``), the MJML
compiler (``mjml``), rendering an editor's template for one variant (``compose``), and the
campaign parameters a template adds to its links (``utm``: read with template.yaml, applied when a
variant compiles).

May import: ``service.content`` (the model's Block and Template) and ``preferences``.
"""
