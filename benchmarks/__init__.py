"""LabNet benchmarks: ``python -m benchmarks.run`` (``make bench``).

For each scale it builds a fresh synthetic database (SQLite in a temporary folder, or a
dedicated PostgreSQL schema), then measures pages in-process with the Flask test client and
prints one JSON document: median and p90 times as ratios to the trivial route ``/ping``
measured in the same run, SQL queries per page (which must not change with the scale: the
N+1 guard), per-request allocation peaks, and the query plans of every statement a page
issues. Speed is reported, never asserted (DESIGN "Quality bars", RELIABILITY §6).
"""
