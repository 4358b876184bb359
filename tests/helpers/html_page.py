"""Parsing hwgen's HTML pages in tests: tables by id, data-key cells, embedded images decoded."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Tables by id (rows of cell texts, and which rows are marked), data-key cells, images, tags seen."""

    def __init__(self, text: str):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.marked: dict[str, list[int]] = {}
        self.keys: dict[str, str] = {}
        self.images: list[str] = []
        self.tags: set[str] = set()
        self.sections: list[str] = []
        self._table = self._cell = self._key = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
            self.marked[self._table] = []
        elif tag == "tr" and self._table is not None:
            if a.get("class") == "bottleneck":
                self.marked[self._table].append(len(self.tables[self._table]) - 1)  # header row is 0
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
            self._key = a.get("data-key")
        elif tag == "img":
            self.images.append(a["src"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            self.tables[self._table][-1].append(text)
            if self._key:
                self.keys[self._key] = text
            self._cell = self._key = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def decode_images(page: Page) -> list[tuple[int, int]]:
    """Decode every embedded image; (width, height) of each."""
    import matplotlib.image as mpimg

    sizes = []
    assert page.images
    for src in page.images:
        head, _, data = src.partition(",")
        assert head == "data:image/png;base64", head
        raw = base64.b64decode(data, validate=True)
        assert raw.startswith(PNG)
        arr = mpimg.imread(io.BytesIO(raw), format="png")
        assert arr.ndim == 3 and arr.shape[0] > 50 and arr.shape[1] > 50
        assert arr.std() > 0  # not a blank image
        sizes.append(arr.shape[:2])
    return sizes
