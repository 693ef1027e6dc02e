"""Sieve's SQLite database; every SQL statement a crawl runs is in this
package.

- :mod:`~crawler.storage.schema`: the tables and the migrations that build them.
- :mod:`~crawler.storage.connection`: opening, checking and migrating a file;
  the write transaction; the time format.
- :mod:`~crawler.storage.database`: the :class:`Database` extension, the
  crawl's connection and its batched write transaction.
- :mod:`~crawler.storage.reads` and :mod:`~crawler.storage.writes`: what
  stages and readers look up and write.
- :mod:`~crawler.storage.corpus`: the dedup index (kept paragraphs, LSH
  bands, site boilerplate).
"""
