"""Loads py3langid's language model on import. The fork server of the
worker processes (:mod:`pipelines.workers`) imports this module, so the
model is loaded once there, and every worker shares its memory from the
start; the crawl's own process, which only builds the stages, never loads
it (0.4 s of CPU and 40 MB), unless it extracts pages itself
(``SIEVE_WORKERS=0``), when the first page loads it."""

import py3langid

py3langid.langid._get_identifier()
