"""The editors' files (content/): read with line numbers (``reading``), loaded into an immutable model
(``model``), and checked, every problem as ``path:line: message`` in one pass (``check``).

Owns: the content contract (teams, product groups, audience and segments, templates and their
schedules, blocks, and experiments: arms of a block and which customer gets which,
``experiments``), CODEOWNERS from teams.yaml, and reloading for long-running processes
(``live``). ``markup`` is the language inside the files.

May import: ``preferences`` (the attribute types customers are validated with). Nothing else of
the service: everything else is built on top of it.
"""
