"""Customers and their choices: the domain of the preference centre.

Owns: the tables (``models``), typed attributes (``attributes``), customer data from the CRM
(``customers``, ``csv_import``), what may change and how (``changes``), the consent trail
(``consent``), the due rules (``due``), signed links (``links``), the database and its
migrations (``database``), and the queries named by intent (``store``). ``preferences.web`` is
its HTTP side: the pages and the operator API.

May import: nothing of ``service``, ever (the engine builds what the pages need and hands it
in), and nothing of ``preferences.web``.
"""
