"""Catalogue search: the ``/labs`` query and its facet counts, and the map's set of labs.

The rules live in the modules of this package, each once:

- :mod:`.query`: the query contract (:class:`SearchQuery`, :func:`parse_query`, errors per
  parameter, URLs); bad input never fails (DESIGN rule 5).
- :mod:`.filters`: the SQL condition of each filter (what a search matches); drafts are
  invisible (DESIGN rule 6).
- :mod:`.results`: running a search, relevance and distance ordering, pagination, the
  cards and the map.
- :mod:`.facets`: the counts beside each filter value, and their per-process cache.
- :mod:`.text`: how words are read (folding, stemming, the vocabulary), for index and query.
- :mod:`.index`: the word index (``search_term``), kept in the writes' transaction.
- :mod:`.words`: the word condition, typo tolerance, ranking and "did you mean".

The demand signal each search leaves is :mod:`labnet.services.catalogue.demand`. Callers import the
public names from here.
"""

from labnet.services.catalogue.search import index as index
from labnet.services.catalogue.search.facets import FacetValue
from labnet.services.catalogue.search.filters import list_matching
from labnet.services.catalogue.search.query import (
    AVAILABILITY_PARAMS,
    DEFAULT_RADIUS_KM,
    FILTER_PARAMS,
    MAX_AHEAD_DAYS,
    MAX_NEAR_LENGTH,
    MAX_PAGE,
    MAX_Q_LENGTH,
    MAX_RADIUS_KM,
    MAX_WORDS,
    MIN_RADIUS_KM,
    PARAMS,
    SORTS,
    SearchQuery,
    depends_on_bookings,
    depends_on_viewer,
    parse_query,
)
from labnet.services.catalogue.search.results import (
    MapLab,
    SearchResult,
    labs_not_free,
    map_labs,
    search_labs,
)

__all__ = [
    "AVAILABILITY_PARAMS",
    "DEFAULT_RADIUS_KM",
    "FILTER_PARAMS",
    "MAX_AHEAD_DAYS",
    "MAX_NEAR_LENGTH",
    "MAX_PAGE",
    "MAX_Q_LENGTH",
    "MAX_RADIUS_KM",
    "MAX_WORDS",
    "MIN_RADIUS_KM",
    "PARAMS",
    "SORTS",
    "FacetValue",
    "MapLab",
    "SearchQuery",
    "SearchResult",
    "depends_on_bookings",
    "depends_on_viewer",
    "labs_not_free",
    "list_matching",
    "map_labs",
    "parse_query",
    "search_labs",
]
