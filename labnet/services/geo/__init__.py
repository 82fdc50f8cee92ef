"""The geography area: placing addresses on the map, distances and radius boxes.

:mod:`.geocoding` owns one geocoding service behind one interface, Nominatim's usage rules
(RELIABILITY §5), hand-entered coordinates winning, and geodesic distances.
"""
