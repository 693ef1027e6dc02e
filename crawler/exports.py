"""Feed exporters for ``scrapy crawl ... -o FILE``: Scrapy's own, except that
CSV writes a list (an article's ``paragraphs``) as a JSON array, as
``scrapy export`` does, instead of joining it with commas."""

from __future__ import annotations

import json
from typing import Any

from scrapy.exporters import CsvItemExporter


class CsvExporter(CsvItemExporter):
    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        if isinstance(value, list):
            return json.dumps(value, ensure_ascii=False)
        return super().serialize_field(field, name, value)
