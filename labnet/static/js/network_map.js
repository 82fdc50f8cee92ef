/* A network's map (networks/show.html): fetches data-url (/networks/<slug>/map.json),
 * draws each member lab as a circle marker in its stage's colour and the chain as lines
 * from every lab of one stage to every lab of the next. Names are shown as text only
 * (popups and the legend are DOM nodes filled with textContent; DESIGN rule 7).
 * When done, the element gets data-state="ready" and data-markers / data-lines counts.
 * Words come from the element in the page's language: data-text-stage ("Stage {position}:
 * {name}") and data-text-error; English when they are not given.
 */
(function () {
  'use strict';
  var el = document.getElementById('network-map');
  if (!el || !window.L) { return; }
  var stageText = el.dataset.textStage || 'Stage {position}: {name}';
  var errorText = el.dataset.textError || 'The map data could not be loaded.';

  function popup(lab, stage) {
    var box = document.createElement('div');
    box.className = 'lab-popup';
    var name = document.createElement('a');
    name.className = 'lab-popup-name';
    name.href = lab.url;
    name.textContent = lab.name;
    box.appendChild(name);
    var where = document.createElement('div');
    where.textContent = [lab.city, lab.country].filter(Boolean).join(', ');
    box.appendChild(where);
    var st = document.createElement('div');
    st.className = 'lab-popup-kets';
    st.textContent = stageText.replace('{position}', String(stage.position))
      .replace('{name}', stage.name);
    box.appendChild(st);
    return box;
  }

  function legend(stages) {
    var list = document.getElementById('network-map-legend');
    if (!list) { return; }
    stages.forEach(function (stage) {
      var item = document.createElement('li');
      item.className = 'list-inline-item';
      var swatch = document.createElement('span');
      swatch.className = 'legend-swatch';
      swatch.style.backgroundColor = stage.colour;
      item.appendChild(swatch);
      var label = document.createElement('span');
      label.textContent = stage.position + '. ' + stage.name + ' (' + stage.labs.length + ')';
      item.appendChild(label);
      list.appendChild(item);
    });
  }

  var map = L.map(el, { scrollWheelZoom: false }).setView([50.5, 10], 4);
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, {
      attribution: el.dataset.tileAttribution || '', maxZoom: 19
    }).addTo(map);
  }

  fetch(el.dataset.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    })
    .then(function (data) {
      var stages = data.stages || [];
      var bounds = [];
      var markers = 0;
      var lines = 0;
      var drawn = [];
      stages.forEach(function (stage) {
        stage.labs.forEach(function (lab) {
          var marker = L.circleMarker([lab.lat, lab.lon], {
            radius: 8, color: '#ffffff', weight: 2, fillColor: stage.colour, fillOpacity: 0.95,
            className: 'network-marker'
          }).addTo(map);
          marker.bindPopup(popup(lab, stage));
          marker.bindTooltip(document.createTextNode(lab.name));
          drawn.push(marker);
          bounds.push([lab.lat, lab.lon]);
          markers += 1;
        });
      });
      // The chain: each lab of a stage linked to each lab of the next stage that has labs.
      var withLabs = stages.filter(function (s) { return s.labs.length > 0; });
      for (var i = 0; i + 1 < withLabs.length; i += 1) {
        withLabs[i].labs.forEach(function (a) {
          withLabs[i + 1].labs.forEach(function (b) {
            L.polyline([[a.lat, a.lon], [b.lat, b.lon]], {
              color: withLabs[i].colour, weight: 3, opacity: 0.7, dashArray: '6 4',
              className: 'network-chain-line'
            }).addTo(map);
            lines += 1;
          });
        });
      }
      // Markers above the lines, so each stays clickable.
      drawn.forEach(function (marker) { marker.bringToFront(); });
      if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 8 }); }
      legend(stages);
      el.dataset.markers = String(markers);
      el.dataset.lines = String(lines);
      el.dataset.state = 'ready';
    })
    .catch(function () {
      var note = document.createElement('p');
      note.className = 'text-danger small';
      note.textContent = errorText;
      el.parentNode.insertBefore(note, el.nextSibling);
      el.dataset.state = 'error';
    });
}());
