"""What the catalogue page and an app's page show: filters, cards, the écoscore chart."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlencode

from chalicelib.catalog.ecoscore import letter_for
from chalicelib.catalog.query import CatalogQuery
from chalicelib.catalog.service import CatalogService
from chalicelib.errors import InvalidRequest

# The catalogue page's form fields: the JSON API's filters a citizen can set, and its cursor.
FILTERS = ("q", "category", "min_ecoscore", "sort", "cursor")
PAGE_SIZE = 20


class CatalogPages:
    def __init__(self, catalog: CatalogService) -> None:
        self.catalog = catalog
        self.referential = catalog.referential

    @property
    def letters(self) -> List[Dict[str, Any]]:
        return self.referential.ecoscore_method["letters"]

    def listing(self, params: Mapping[str, str]) -> Dict[str, Any]:
        """One page of the catalogue for the filters of the page's form (empty fields ignored);
        filters that do not make a valid query give an empty page and `invalid`."""
        filters = {name: params[name].strip() for name in FILTERS if (params.get(name) or "").strip()}
        items: List[Dict[str, Any]] = []
        next_url: Optional[str] = None
        invalid = False
        try:
            query = CatalogQuery.parse({**filters, "limit": str(PAGE_SIZE)}, self.referential)
            result = self.catalog.list_apps(query)
            items = [self._card(card) for card in result.items]
            if result.next_cursor:
                next_url = "/?" + urlencode({**{k: v for k, v in filters.items() if k != "cursor"},
                                             "cursor": result.next_cursor})
        except InvalidRequest:
            invalid = True
        return {
            "filters": filters, "items": items, "next_url": next_url, "invalid": invalid,
            "paged": "cursor" in filters, "filtered": bool(set(filters) - {"cursor", "sort"}),
            "first_url": "/?" + urlencode({k: v for k, v in filters.items() if k != "cursor"}),
            "categories": list(self.referential.categories.values()),
            "letter_choices": [band["letter"] for band in self.letters[:-1]],
            "letters": self.letters,
        }

    def _card(self, card: Mapping[str, Any]) -> Dict[str, Any]:
        families = self.referential.families
        return {**card, "compliance": [{"id": family_id, "label": families[family_id]["label"], "status": status}
                                       for family_id, status in card["compliance"].items()
                                       if family_id in families]}

    def app(self, app_id: str) -> Dict[str, Any]:
        """An app's public listing, with its écoscore chart; NotFound when not in the catalogue."""
        public = self.catalog.get_app(app_id)
        # Units in the method read "kB per step"; the table's heading already says "per step".
        units = {metric["id"]: metric["unit"].split(" per ")[0] for metric in public["ecoscore"]["metrics"]}
        return {"app": public, "chart": ecoscore_chart(public["ecoscore"], self.letters), "units": units,
                "letters": self.letters}


def ecoscore_chart(ecoscore: Mapping[str, Any], bands: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Geometry of a bar chart (SVG user units) of the écoscore's marks out of 100: one bar per
    metric, then the overall score, each with its label above it and in the colour of the letter
    its mark earns (the labels sit above the bars so that long French labels are never cut)."""
    left, bar_width, row, bar, top = 4, 520, 50, 20, 26
    method = {"letters": bands}
    colours = {band["letter"]: band["colour"] for band in bands}
    rows = [{"label": metric["label"], "value": metric["sub_score"]} for metric in ecoscore["metrics"]]
    rows.append({"label": None, "value": ecoscore["score"], "overall": True})
    bars = []
    for index, item in enumerate(rows):
        value = max(0.0, min(100.0, float(item["value"])))
        y = top + index * row
        width = round(value / 100 * bar_width, 1)
        bars.append({**item, "label_y": y + 14, "y": y + 20, "text_y": y + 20 + bar * 0.75, "width": width,
                     "value_x": left + width + 8, "colour": colours[letter_for(value, method)], "value": value})
    height = top + len(rows) * row + 4
    ticks = [{"x": left + round(tick / 100 * bar_width, 1), "label": str(tick)} for tick in (0, 50, 100)]
    return {"width": left + bar_width + 70, "height": height, "left": left, "bar_height": bar, "bars": bars,
            "ticks": ticks, "axis_bottom": height - 4}
