"""Writing the editors' files from the browser: a block's text from its fields and body, changing
only the lines that changed (``front_matter``); the candidate checked as ``newsletter check``
checks it, on a copy of the folder (``candidate``); the file written atomically, only over the
version the editor saw (``store``), and committed where the folder is a git work tree (``git``).

May import: the rest of ``service.content`` (its reading and its check) and the standard
library; git is run as a program, with explicit arguments.
"""
