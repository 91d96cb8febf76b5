"""Reading the editors' YAML as the checks need it: every value with the line it was written at
(``yaml_lines``), and typed fields read from it with a ``path:line`` problem for each bad one
(``field_reader``).

May import: ``service.content.problems``; the content modules import it, not the other way round.
"""
