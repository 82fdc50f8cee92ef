/* Small maps of one point (macro small_map in _macros/map.html): every .small-map element
 * with data-lat/data-lon gets a Leaflet map and one marker. The label is shown as text
 * (marker title, and a popup built as a DOM node), never parsed as HTML (DESIGN rule 7).
 * A page that edits the point can move the marker: dispatch
 *   el.dispatchEvent(new CustomEvent('labnet:move', {detail: {lat: 48.1, lon: 11.6}}))
 */
(function () {
  'use strict';
  if (!window.L) { return; }

  function init(el) {
    var lat = parseFloat(el.dataset.lat);
    var lon = parseFloat(el.dataset.lon);
    if (!isFinite(lat) || !isFinite(lon)) { return; }
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 11);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        attribution: el.dataset.tileAttribution || '', maxZoom: 19
      }).addTo(map);
    }
    var label = el.dataset.label || '';
    var marker = L.marker([lat, lon], { title: label, alt: label }).addTo(map);
    var box = document.createElement('div');
    box.className = 'lab-popup';
    box.textContent = label;
    marker.bindPopup(box);
    el.addEventListener('labnet:move', function (event) {
      var to = event.detail || {};
      if (isFinite(to.lat) && isFinite(to.lon)) {
        marker.setLatLng([to.lat, to.lon]);
        map.setView([to.lat, to.lon]);
      }
    });
    el.dataset.state = 'ready';
  }

  document.querySelectorAll('.small-map[data-lat]').forEach(init);
}());
