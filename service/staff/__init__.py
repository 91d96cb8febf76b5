"""The staff: editors, reviewers and admins of the teams, who sign in to the staff pages.

Owns: the accounts and what they did (``tables``, ``accounts``: add, find, sign in, disable, and
the audit trail of every staff action), the password hashing (``passwords``, argon2id) and the
signed session cookie (``sessions``).

May import: ``preferences`` (the shared table metadata and UTC times); never the web or CLI code.
"""
