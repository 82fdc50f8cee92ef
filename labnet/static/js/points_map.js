/* Maps of named points (events/index.html, projects/show.html): every .points-map element
 * whose data-points holds a JSON list of {name, lat, lon, detail, url} gets a Leaflet map
 * with one marker per point. Names and details are shown as text only (popups are DOM
 * nodes filled with textContent; DESIGN rule 7). When drawn, the element gets
 * data-state="ready" and data-markers (the count).
 */
(function () {
  'use strict';
  if (!window.L) { return; }

  function popup(point) {
    var box = document.createElement('div');
    box.className = 'lab-popup';
    var name = document.createElement(point.url ? 'a' : 'span');
    name.className = 'lab-popup-name';
    if (point.url) { name.href = point.url; }
    name.textContent = point.name || '';
    box.appendChild(name);
    if (point.detail) {
      var detail = document.createElement('div');
      detail.textContent = point.detail;
      box.appendChild(detail);
    }
    return box;
  }

  function init(el) {
    var points;
    try { points = JSON.parse(el.dataset.points || '[]'); } catch (e) { points = []; }
    var map = L.map(el, { scrollWheelZoom: false }).setView([50.5, 10], 4);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        attribution: el.dataset.tileAttribution || '', maxZoom: 19
      }).addTo(map);
    }
    var bounds = [];
    points.forEach(function (point) {
      if (!isFinite(point.lat) || !isFinite(point.lon)) { return; }
      var marker = L.marker([point.lat, point.lon], { title: point.name || '', alt: point.name || '' });
      marker.bindPopup(popup(point));
      marker.addTo(map);
      bounds.push([point.lat, point.lon]);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 9 }); }
    el.dataset.markers = String(bounds.length);
    el.dataset.state = 'ready';
  }

  document.querySelectorAll('.points-map').forEach(init);
}());
