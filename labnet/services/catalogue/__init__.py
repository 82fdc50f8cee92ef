"""The catalogue area: what labs publish and how people find it.

The rules live in the modules of this package, each naming those it owns:

- :mod:`.pages`: catalogue reads (home-page figures, the lab list, the lab and equipment
  pages) in a fixed number of queries; drafts never appear in public reads;
- :mod:`.labs`: the lab profile and booking policy, opening hours, equipment, CSV import and
  export;
- :mod:`.search`: the ``/labs`` query, its facet counts and the map's set of labs;
- :mod:`.maps`: map data leaves as JSON strings, never markup (DESIGN rule 7); the HTML
  export loads nothing from a third-party host;
- :mod:`.demand`: demand signals are anonymous and a repeat counts once;
- :mod:`.taxonomy`: the shipped taxonomies, synced idempotently and read cached.
"""
