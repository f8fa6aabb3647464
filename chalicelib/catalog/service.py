"""The catalogue's rules: publishing a reviewed listing, and reading the public catalogue.

Publishing (the public view, its index entries) and reading (plans, pages, the warm container's
cache) share the index layout, which must stay in one place; their DynamoDB calls are
catalog/store.py's."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from cachetools import TTLCache

from chalicelib.catalog import query as catalog_query
from chalicelib.catalog.compliance import compliance_summary, track_of
from chalicelib.catalog.ecoscore import compute_ecoscore
from chalicelib.catalog.models import AppHead, CatalogEntry, ListingVersion
from chalicelib.catalog.referential import Referential
from chalicelib.catalog.store import CatalogStore, PublishedItems
from chalicelib.ids import is_app_id
from chalicelib.errors import NotFound
from chalicelib.clock import Clock, utc_now



@dataclass(frozen=True)
class ReviewOutcome:
    """What the commission decided for a listing version, as far as the catalogue needs it."""

    opinion: str
    approved_scopes: List[str]
    results: Mapping[str, Mapping[str, Any]]
    period_years: int = 1
    quota: Optional[Mapping[str, int]] = None  # {"rate", "burst"}; None leaves the app's quota as it was


@dataclass(frozen=True)
class Publication:
    public: Dict[str, Any]
    entries: List[CatalogEntry]
    stale: List[CatalogEntry]


@dataclass
class CatalogPage:
    items: List[Dict[str, Any]]
    next_cursor: Optional[str]
    entries_read: int = 0
    filters_applied: List[str] = field(default_factory=list)


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


class CatalogService:
    """Publishing and reading the catalogue. Reads may be kept by the warm container for
    `cache_seconds` (a page per query and cursor, a listing per app, at most CACHE_SIZE each): at
    500 views a second the catalogue's partitions then see one read per page per container and per
    period, not one per view. A change made through this service forgets them at once in this
    container; other containers see it within `cache_seconds`. Its storage is `store`
    (catalog/store.py)."""

    CACHE_SIZE = 1024

    def __init__(self, referential: Referential, clock: Clock = utc_now, cache_seconds: float = 0.0,
                 timer: Callable[[], float] = time.monotonic, store: Optional[CatalogStore] = None) -> None:
        self.referential = referential
        self.clock = clock
        self.store = store or CatalogStore()
        self._pages: Optional[TTLCache] = None
        self._listings: Optional[TTLCache] = None
        if cache_seconds > 0:
            self._pages = TTLCache(self.CACHE_SIZE, cache_seconds, timer)
            self._listings = TTLCache(self.CACHE_SIZE, cache_seconds, timer)

    def forget(self) -> None:
        """Drop what this container keeps (after a change of the catalogue made here)."""
        for cache in (self._pages, self._listings):
            if cache is not None:
                cache.clear()

    # -- publishing ---------------------------------------------------------------------------

    def public_view(self, app_id: str, version: int, listing: Mapping[str, Any],
                    outcome: ReviewOutcome, start: datetime) -> Dict[str, Any]:
        """The listing as citizens see it: only approved scopes, with labels and purposes."""
        ref = self.referential
        approved = set(outcome.approved_scopes)
        data_access = [{
            "scope": item["scope"],
            "data_kind": ref.data_kind_of(item["scope"]),
            "label": ref.data_kinds[ref.data_kind_of(item["scope"]) or ""]["label"],  # approved: a known scope
            "purpose": {"id": item["purpose"], "label": ref.purposes[item["purpose"]]["label"]},
            "justification": item["justification"],
        } for item in listing["scopes"] if item["scope"] in approved]
        return {
            "app_id": app_id,
            "version": version,
            "name": listing["name"],
            "short_description": listing["short_description"],
            "long_description": listing["long_description"],
            "category": {"id": listing["category"], "label": ref.categories[listing["category"]]["label"]},
            "platforms": listing["platforms"],
            "publisher": {"legal_name": listing["publisher"]["legal_name"],
                          "siret": listing["publisher"]["siret"]},
            "urls": listing["urls"],
            "logo_url": listing["logo_url"],
            "data_access": data_access,
            "offline_access": bool(listing["offline_access"]) and "offline_access" in approved,
            "third_parties": listing["third_parties"],
            "compliance": compliance_summary(outcome.results, track_of(listing), ref),
            "ecoscore": compute_ecoscore(listing["ecoscore"], ref.ecoscore_method),
            "referencing": {
                "status": "published", "opinion": outcome.opinion, "period_years": outcome.period_years,
                "from": start.isoformat(), "until": _add_years(start, outcome.period_years).isoformat(),
            },
        }

    def _card(self, public: Mapping[str, Any]) -> Dict[str, Any]:
        return {
            "app_id": public["app_id"],
            "name": public["name"],
            "short_description": public["short_description"],
            "category": public["category"],
            "publisher": public["publisher"]["legal_name"],
            "logo_url": public["logo_url"],
            "ecoscore": {"score": public["ecoscore"]["score"], "letter": public["ecoscore"]["letter"]},
            "data_kinds": sorted({d["data_kind"] for d in public["data_access"]}),
            "compliance": {f["id"]: f["status"] for f in public["compliance"]["families"]},
            "referenced_until": public["referencing"]["until"],
        }

    def _facets(self, public: Mapping[str, Any]) -> List[str]:
        letters = self.referential.letters
        own = letters.index(public["ecoscore"]["letter"])
        return (["all", f"category#{public['category']['id']}"]
                + [f"data#{kind}" for kind in sorted({d["data_kind"] for d in public["data_access"]})]
                + [f"min#{letter}" for letter in letters[own:-1]]
                + catalog_query.word_prefixes(public["name"], public["publisher"]["legal_name"],
                                              *public["category"]["label"].values(),
                                              *public["short_description"].values()))

    def _entries(self, public: Mapping[str, Any], until: datetime) -> List[CatalogEntry]:
        name_key = f"{catalog_query.normalize_text(public['name'])}#{public['app_id']}"
        card = self._card(public)
        search_text = catalog_query.normalize_text(" ".join([
            public["name"], public["publisher"]["legal_name"],
            *public["short_description"].values(), *public["category"]["label"].values()]))
        return [CatalogEntry(
            facet, public["app_id"], name_key=name_key,
            eco_key=catalog_query.eco_key(public["ecoscore"]["score"], name_key),
            category=public["category"]["id"], data_kinds=set(card["data_kinds"]) or None,
            score=public["ecoscore"]["score"], search_text=search_text, card=card, expires_at=until,
        ) for facet in self._facets(public)]

    def go_live(self, head: AppHead, version: int, listing: Mapping[str, Any], outcome: ReviewOutcome,
                start: Optional[datetime] = None) -> Publication:
        """Make `version` the live one on `head` (in memory) and build its catalogue entries; the
        caller writes head, version and entries in one transaction."""
        self.forget()
        start = start or self.clock()
        public = self.public_view(head.app_id, version, listing, outcome, start)
        until = datetime.fromisoformat(public["referencing"]["until"])
        entries = self._entries(public, until)
        stale = set(head.facets or ()) - {entry.facet for entry in entries}
        head.status, head.live_version, head.public = "published", version, public
        head.client, head.redirect_uris = dict(listing["client"]), list(listing["redirect_uris"])
        head.notification_endpoints = list(listing.get("notification_endpoints") or []) or None
        head.approved_scopes = set(outcome.approved_scopes) or None
        if outcome.quota is not None:
            head.quota = dict(outcome.quota)
        head.referenced_from, head.referenced_until = start, until
        head.facets = {entry.facet for entry in entries}
        return Publication(public, entries, [CatalogEntry(facet, head.app_id) for facet in stale])

    def take_down(self, head: AppHead, status: str) -> List[CatalogEntry]:
        """Leave the catalogue (suspended, withdrawn): returns the entries to delete."""
        self.forget()
        doomed = [CatalogEntry(facet, head.app_id) for facet in sorted(head.facets or ())]
        head.status, head.facets = status, None
        return doomed

    def bring_back(self, head: AppHead) -> List[CatalogEntry]:
        """Return to the catalogue with the live version (reinstatement): returns entries to write."""
        self.forget()
        entries = self._entries(head.public, head.referenced_until)
        head.status, head.facets = "published", {entry.facet for entry in entries}
        return entries

    def _seed_items(self, app_id: str, version: int, listing: Mapping[str, Any], outcome: ReviewOutcome,
                    start: Optional[datetime]) -> Tuple[AppHead, ListingVersion, Publication]:
        now = self.clock()
        head = self.store.head(app_id) or AppHead.new(app_id, listing["publisher"]["siret"], now)
        publication = self.go_live(head, version, listing, outcome, start)
        head.display_name, head.latest_version, head.latest_state = listing["name"], version, "published"
        head.updated_at = now
        listing_version = ListingVersion(app_id, version, state="published", document=dict(listing),
                                         decision={"opinion": outcome.opinion,
                                                   "approved_scopes": outcome.approved_scopes,
                                                   "results": dict(outcome.results),
                                                   "period_years": outcome.period_years},
                                         revision=1, created_at=now, updated_at=now)
        return head, listing_version, publication

    def publish(self, app_id: str, version: int, listing: Mapping[str, Any], outcome: ReviewOutcome,
                start: Optional[datetime] = None) -> Dict[str, Any]:
        """Publish a listing that was decided outside the workflow (demo data), atomically."""
        head, listing_version, publication = self._seed_items(app_id, version, listing, outcome, start)
        self.store.publish(listing_version, head, publication.entries, publication.stale)
        return publication.public

    def import_published(self, items: Iterable[Tuple[str, int, Mapping[str, Any], ReviewOutcome,
                                                     Optional[datetime]]]) -> int:
        """Bulk-load publications into empty tables with batch writes (seeding, benchmarks).
        Not atomic and blind to earlier versions: publish() is the path for anything else."""
        def publications() -> Iterator[PublishedItems]:
            for app_id, version, listing, outcome, start in items:  # built as the store writes them
                head, listing_version, publication = self._seed_items(app_id, version, listing, outcome, start)
                yield listing_version, head, publication.entries

        return self.store.import_all(publications())

    # -- reading ------------------------------------------------------------------------------

    def get_app(self, app_id: str) -> Dict[str, Any]:
        """The public listing of a published app, or NotFound."""
        if not is_app_id(app_id):
            raise NotFound(f"No published app '{app_id[:100]}' in the catalogue.")
        public = self._listings.get(app_id) if self._listings is not None else None
        if public is None:
            head = self.store.head(app_id)
            if head is not None and head.status == "published" and not head.lapsed(self.clock()):
                public = head.public
            else:
                public = {}  # known absent, kept as briefly as a listing
            if self._listings is not None:
                self._listings[app_id] = public
        if not public or datetime.fromisoformat(public["referencing"]["until"]) <= self.clock():
            raise NotFound(f"No published app '{app_id}' in the catalogue.")
        return public

    def list_apps(self, query: catalog_query.CatalogQuery) -> CatalogPage:
        """One page of the catalogue: always one Query on one index partition, or none when this
        container read the same page less than `cache_seconds` ago."""
        plan = catalog_query.plan(query, self.referential)
        key = (plan.fingerprint(), query.cursor, query.limit)
        cached = self._pages.get(key) if self._pages is not None else None
        if cached is not None:
            return cached
        page = self._read_page(query, plan)
        if self._pages is not None:
            self._pages[key] = page
        return page

    def _read_page(self, query: catalog_query.CatalogQuery, plan: catalog_query.QueryPlan) -> CatalogPage:
        key_names = self.store.key_names(plan)
        fingerprint = plan.fingerprint()
        after = None
        if query.cursor:
            after = catalog_query.decode_cursor(
                query.cursor, fingerprint, key_names,
                lambda key: key["facet"] == plan.facet and (
                    not plan.eco_key_below or key["eco_key"] < plan.eco_key_below))
        page = self.store.page(plan, after, query.limit, self.clock())
        next_cursor = catalog_query.encode_cursor(page.next_key, fingerprint) if page.next_key else None
        return CatalogPage(items=[entry.card for entry in page.entries], next_cursor=next_cursor,
                           entries_read=page.scanned, filters_applied=sorted(plan.residual))

    # -- the référentiel ----------------------------------------------------------------------

    def referential_view(self) -> Dict[str, Any]:
        ref = self.referential
        method = ref.ecoscore_method
        return {
            "version": ref.criteria_document["version"],
            "sources": ref.criteria_document["sources"],
            "families": list(ref.families.values()),
            "criteria": list(ref.criteria.values()),
            "categories": list(ref.categories.values()),
            "purposes": list(ref.purposes.values()),
            "data_kinds": list(ref.data_kinds.values()),
            "scopes": [*ref.data_scopes.values(), *ref.other_scopes.values()],
            "ecoscore_method": {k: v for k, v in method.items() if k != "$comment"},
        }
