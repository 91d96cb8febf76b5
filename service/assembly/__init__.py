"""From checked content to one recipient's email: the rendering principle of DESIGN.md.

Owns: choosing each slot's blocks for an edition and variant (``edition``) and the arm of each
experiment in it (``arms``), compiling a variant
once (MJML, text part, MIME skeleton: ``render``, ``mime``), substituting a recipient's personal
fields (``personal``, ``recipient``), and the coverage of an edition for ``newsletter plan``
(``coverage``).

One meaning per name: a *variant* is an identity (``VariantKey``: segment, locale, the
exclusions that matter, the arms of its experiments; its label is what the ledger and the reports count); its ``Assembly`` is
the blocks it gets; its ``CompiledVariant`` is the compiled body every recipient of it shares.

May import: ``service.content`` and ``preferences`` (signed links). Never settings: the edges
hand in the link signer, base URL, addresses and the experiment key.
"""
