/* The /map page: the labs of the current search as clustered markers.
 *
 * Configuration comes from data-* attributes of #lab-map (GeoJSON URL, tile URL and
 * attribution); the CSP forbids inline scripts. DESIGN rule 7: every value from the data
 * is put on the page with textContent or as an attribute value, never parsed as HTML
 * (Leaflet's bindPopup/bindTooltip would parse a string, so they get DOM nodes).
 * Markers need no tiles: when the tile server cannot be reached they still show.
 */
(function () {
  'use strict';

  // Short, shareable URLs: empty filters are not submitted (works without the map too).
  var form = document.getElementById('map-filters');
  if (form) {
    form.addEventListener('submit', function () {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && (field.value === '' || (field.type === 'checkbox' && !field.checked))) {
          field.disabled = true;
        }
      });
    });
    // Coming back through the history must find the form usable again.
    window.addEventListener('pageshow', function () {
      Array.prototype.forEach.call(form.elements, function (field) { field.disabled = false; });
    });
  }

  var el = document.getElementById('lab-map');
  if (!el || !window.L || !L.markerClusterGroup) { return; }
  var status = document.getElementById('map-status');

  // The words, in the page's language (data-texts, JSON); English by default.
  var texts = {
    kets: 'KET: {names}',
    pieces: { one: '{n} piece of equipment', other: '{n} pieces of equipment' },
    open: 'Open the lab page',
    opened: 'Opened: {content}',
    ready: 'Click a cluster to zoom in, a marker for the lab.',
    empty: 'No lab with a position matches these filters.',
    error: 'The map data could not be loaded. The list view shows the same labs.'
  };
  if (el.dataset.texts) {
    try {
      var given = JSON.parse(el.dataset.texts);
      Object.keys(given).forEach(function (key) { if (given[key]) { texts[key] = given[key]; } });
    } catch (e) { /* keep the English */ }
  }
  var plural = null;
  try { plural = new Intl.PluralRules(document.documentElement.lang || 'en'); } catch (e) { plural = null; }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all;
    });
  }

  function pieces(n) {
    var forms = texts.pieces || {};
    var form = forms[plural ? plural.select(n) : (n === 1 ? 'one' : 'other')] ||
      forms.other || forms.many || (n === 1 ? '{n} piece of equipment' : '{n} pieces of equipment');
    return fill(form, { n: n });
  }

  function add(parent, tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) { node.className = className; }
    parent.appendChild(node);
    return node;
  }

  // Only links into this site (a path), whatever the data says.
  function safeHref(url) {
    return (typeof url === 'string' && url.charAt(0) === '/' && url.charAt(1) !== '/')
      ? url : '#';
  }

  function popup(props, doc) {
    var box = document.createElement('div');
    box.className = 'lab-popup';
    var name = add(box, 'a', props.name, 'lab-popup-name');
    name.href = safeHref(props.url);
    add(box, 'div', props.kind, 'lab-popup-kind');
    var country = (doc.country_names || {})[props.country] || props.country;
    add(box, 'div', [props.city, country].filter(Boolean).join(', '), 'lab-popup-place');
    if (props.kets && props.kets.length) {
      var names = props.kets.map(function (code) {
        return (doc.ket_names || {})[code] || code;
      });
      add(box, 'div', fill(texts.kets, { names: names.join(', ') }), 'lab-popup-kets');
    }
    var n = props.equipment;
    add(box, 'div', pieces(n), 'lab-popup-equipment');
    var open = add(box, 'a', texts.open, 'lab-popup-open');
    open.href = safeHref(props.url);
    return box;
  }

  var map = L.map(el).setView([50, 10], 4);
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, {
      attribution: el.dataset.tileAttribution || '', maxZoom: 19
    }).addTo(map);
  }
  // chunkedLoading keeps the page responsive while 10,000 markers are added; data-state
  // turns "ready" once the last chunk is on the map (tests and scripts can wait for it).
  var cluster = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    chunkProgress: function (processed, total) {
      if (processed === total) { el.dataset.state = 'ready'; }
    }
  });
  map.addLayer(cluster);
  el.dataset.state = 'loading';
  // Markers and clusters are reachable with Tab (Leaflet's keyboard option) and open with
  // Enter; an opened popup is read out through the polite live region below the map.
  map.on('popupopen', function (event) {
    var content = event.popup.getElement();
    status.textContent = content ? fill(texts.opened, { content: content.textContent.trim() }) : '';
  });

  fetch(el.dataset.geojsonUrl, {
    headers: { Accept: 'application/geo+json' }, credentials: 'same-origin'
  })
    .then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    })
    .then(function (doc) {
      var markers = [];
      var points = [];
      doc.features.forEach(function (feature) {
        var c = feature.geometry.coordinates;
        var props = feature.properties;
        var marker = L.marker([c[1], c[0]], { title: props.name, alt: props.name });
        marker.bindPopup(function () { return popup(props, doc); });
        markers.push(marker);
        points.push([c[1], c[0]]);
      });
      el.dataset.markers = String(markers.length);
      if (points.length) {
        // No animation: the view is final before the markers arrive.
        map.fitBounds(L.latLngBounds(points), { padding: [24, 24], maxZoom: 12, animate: false });
        cluster.addLayers(markers);
      } else {
        el.dataset.state = 'ready';
      }
      status.textContent = markers.length ? texts.ready : texts.empty;
    })
    .catch(function () {
      el.dataset.state = 'error';
      status.textContent = texts.error;
    });
}());
