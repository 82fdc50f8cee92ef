/* The booking week calendar (templates/bookings/_calendar.html).
 *
 * Reads availability.json for one week (data-url) and draws a grid in the lab's time zone
 * (data-zone): open, busy, closed, blackout. Times are also shown in the viewer's own zone
 * when it differs (Intl). Clicking a free slot fills the booking form's start and end
 * (data-start-field / data-end-field, the ids of the form's inputs); a second click on a
 * later free slot extends the end. On the equipment page (data-book-url) a click opens the
 * booking form with the slot filled in.
 *
 * By keyboard the grid is one Tab stop (the WAI-ARIA grid pattern, roving tabindex): the
 * arrow keys move a day (←/→) or a slot (↑/↓), Home/End to the first/last day of the row,
 * Ctrl+Home/End to the first/last cell of the week; Enter or Space on a free slot picks it
 * as a click does. A cell that is no free slot takes the focus itself, so its state (busy,
 * closed…) is read with its day and time. Everything is built with DOM nodes and textContent,
 * never parsed as HTML (DESIGN rule 7); no inline script or style (CSP).
 *
 * Its words come translated from the template (data-t-* on the box: "%(name)s" marks where
 * a value goes); the English below is only the default.
 */
(function () {
  'use strict';

  var STATE_CLASS = {
    open: 'btn btn-sm btn-outline-success w-100',
    busy: 'badge text-bg-secondary w-100',
    closed: 'text-muted small',
    blackout: 'badge text-bg-dark w-100'
  };
  var ENGLISH = {
    previous: '← Previous week', next: 'Next week →', week: 'Week of %(week)s',
    note: 'Times in lab time (%(zone)s), booked by the %(unit)s.',
    ownNote: 'Your own time (%(zone)s) is shown under each row time, and in a slot where it differs that day.',
    time: 'Time', closedWeek: 'Closed all week.', yours: '%(time)s yours',
    free: 'free', busy: 'busy', closed: 'closed', blackout: 'blackout',
    notBookable: 'not bookable',
    failed: 'The calendar could not be loaded; the booking form still works.',
    days: 'Mon,Tue,Wed,Thu,Fri,Sat,Sun'
  };

  // The box's translated word for ``key`` (data-t-<key>), else the English default; values
  // fill the "%(name)s" places.
  function words(box) {
    return function (key, values) {
      var attr = 't' + key.charAt(0).toUpperCase() + key.slice(1);
      var text = box.dataset[attr] || ENGLISH[key] || key;
      Object.keys(values || {}).forEach(function (name) {
        text = text.split('%(' + name + ')s').join(values[name]);
      });
      return text;
    };
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function viewerZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
  }

  function inViewerZone(iso) {
    try {
      return new Intl.DateTimeFormat(undefined, {
        weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
      }).format(new Date(iso));
    } catch (e) { return ''; }
  }

  function init(box) {
    var t = words(box);
    var STATE_TEXT = { open: t('free'), busy: t('busy'), closed: t('closed'), blackout: t('blackout') };
    var DAY_NAMES = t('days').split(',');

    function timeIn(iso) {
      try {
        return t('yours', { time: new Intl.DateTimeFormat(undefined, {
          hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso)) });
      } catch (e) { return ''; }
    }

    var zone = box.dataset.zone;
    var mine = viewerZone();
    var showMine = mine && mine !== zone;
    var startField = box.dataset.startField ? document.getElementById(box.dataset.startField) : null;
    var endField = box.dataset.endField ? document.getElementById(box.dataset.endField) : null;
    var startFold = box.dataset.startFoldField ? document.getElementById(box.dataset.startFoldField) : null;
    var endFold = box.dataset.endFoldField ? document.getElementById(box.dataset.endFoldField) : null;
    var bookUrl = box.dataset.bookUrl || '';

    function foldText(fold) { return fold === null || fold === undefined ? '' : String(fold); }
    var picked = null;

    function choose(slot) {
      // An autumn time that happens twice travels with its fold (which occurrence).
      if (picked && slot.local_start >= picked.local_start && !picked.extended) {
        picked = { local_start: picked.local_start, start_fold: picked.start_fold,
                   local_end: slot.local_end, end_fold: slot.end_fold, extended: true };
      } else {
        picked = { local_start: slot.local_start, start_fold: slot.start_fold,
                   local_end: slot.local_end, end_fold: slot.end_fold, extended: false };
      }
      if (startField && endField) {
        // The picked slots are the grid's selection (aria-selected on their cells).
        box.querySelectorAll('button[data-start]').forEach(function (button) {
          var cell = button.closest('td');
          var inside = button.dataset.start >= picked.local_start &&
            button.dataset.end <= picked.local_end;
          if (inside) { cell.setAttribute('aria-selected', 'true'); } else { cell.removeAttribute('aria-selected'); }
        });
        startField.value = picked.local_start;
        endField.value = picked.local_end;
        if (startFold) { startFold.value = foldText(picked.start_fold); }
        if (endFold) { endFold.value = foldText(picked.end_fold); }
        box.dispatchEvent(new CustomEvent('labnet:picked', { detail: picked }));
      } else if (bookUrl) {
        window.location.href = bookUrl + '?start_at=' + encodeURIComponent(slot.local_start) +
          '&end_at=' + encodeURIComponent(slot.local_end) +
          (foldText(slot.start_fold) ? '&start_fold=' + foldText(slot.start_fold) : '') +
          (foldText(slot.end_fold) ? '&end_fold=' + foldText(slot.end_fold) : '');
      }
    }

    // The roving tabindex: the cells of the grid as rows of focus targets (a free slot's
    // button, else the cell), exactly one of them in the Tab order.
    function focusTarget(cell) {
      return cell.querySelector('button') || cell;
    }

    function makeGrid(table, body) {
      var rows = Array.prototype.map.call(body.rows, function (row) {
        return Array.prototype.filter.call(row.cells, function (c) { return c.tagName === 'TD'; });
      }).filter(function (cells) { return cells.length > 1; });
      if (!rows.length) { return; }
      var current = null;
      function activate(target, focus) {
        if (current) { current.tabIndex = -1; }
        current = target;
        current.tabIndex = 0;
        if (focus) { current.focus(); }
      }
      rows.forEach(function (cells) {
        cells.forEach(function (cell) {
          var target = focusTarget(cell);
          target.tabIndex = -1;
          // A click moves the Tab stop too, so Tab comes back where the person was.
          target.addEventListener('focus', function () { activate(target, false); });
        });
      });
      var firstFree = body.querySelector('button');
      activate(firstFree || focusTarget(rows[0][0]), false);
      table.addEventListener('keydown', function (event) {
        var cell = event.target.closest && event.target.closest('td');
        if (!cell) { return; }
        var r = -1;
        var c = -1;
        rows.forEach(function (cells, i) {
          var j = cells.indexOf(cell);
          if (j >= 0) { r = i; c = j; }
        });
        if (r < 0) { return; }
        var last = rows[r].length - 1;
        switch (event.key) {
          case 'ArrowRight': c = Math.min(c + 1, last); break;
          case 'ArrowLeft': c = Math.max(c - 1, 0); break;
          case 'ArrowDown': r = Math.min(r + 1, rows.length - 1); break;
          case 'ArrowUp': r = Math.max(r - 1, 0); break;
          case 'Home': c = 0; if (event.ctrlKey) { r = 0; } break;
          case 'End': c = last; if (event.ctrlKey) { r = rows.length - 1; } break;
          default: return;
        }
        event.preventDefault();
        activate(focusTarget(rows[r][Math.min(c, rows[r].length - 1)]), true);
      });
    }

    function draw(data, refocus) {
      box.textContent = '';
      var nav = el('div', 'd-flex align-items-center gap-2 mb-2');
      var prev = el('button', 'btn btn-outline-secondary btn-sm', t('previous'));
      prev.type = 'button';
      prev.dataset.week = 'prev';
      prev.addEventListener('click', function () { load(data.prev, 'prev'); });
      var next = el('button', 'btn btn-outline-secondary btn-sm', t('next'));
      next.type = 'button';
      next.dataset.week = 'next';
      next.addEventListener('click', function () { load(data.next, 'next'); });
      nav.appendChild(prev);
      var weekLabel = el('strong', 'calendar-week', t('week', { week: data.week }));
      weekLabel.id = box.id + '-week';
      nav.appendChild(weekLabel);
      nav.appendChild(next);
      box.appendChild(nav);
      var note = t('note', { zone: data.zone, unit: data.unit_label });
      if (showMine) { note += ' ' + t('ownNote', { zone: mine }); }
      var noteNode = el('p', 'small text-muted mb-1', note);
      noteNode.id = box.id + '-note';
      box.appendChild(noteNode);

      // Rows: every local start time that occurs in the week, in order.
      var times = [];
      data.days.forEach(function (day) {
        day.slots.forEach(function (s) {
          var t = s.local_start.slice(11);
          if (times.indexOf(t) < 0) { times.push(t); }
        });
      });
      times.sort();
      var table = el('table', 'table table-sm table-bordered small calendar-grid');
      table.setAttribute('role', 'grid');
      table.setAttribute('aria-labelledby', weekLabel.id);
      table.setAttribute('aria-describedby', noteNode.id);
      var head = el('tr');
      // The corner: named for screen readers (its column holds the times of day).
      var corner = el('th');
      corner.appendChild(el('span', 'visually-hidden', t('time')));
      head.appendChild(corner);
      data.days.forEach(function (day, i) {
        head.appendChild(el('th', 'text-center', DAY_NAMES[i] + ' ' + day.date.slice(5)));
      });
      var thead = el('thead');
      thead.appendChild(head);
      table.appendChild(thead);
      var body = el('tbody');
      if (!times.length) {
        var row = el('tr');
        var cell = el('td', 'text-muted', t('closedWeek'));
        cell.colSpan = 8;
        row.appendChild(cell);
        body.appendChild(row);
      }
      // (Not named t: that is the translation function, used below.)
      times.forEach(function (time) {
        var row = el('tr');
        var th = el('th', 'text-nowrap', time);
        var rowHint = '';
        if (showMine) {
          // The same row in the viewer's zone (from the week's first slot at this time).
          var sample = null;
          data.days.forEach(function (day) {
            day.slots.forEach(function (s) {
              if (!sample && s.local_start.slice(11) === time) { sample = s; }
            });
          });
          if (sample) {
            rowHint = timeIn(sample.start);
            th.appendChild(el('div', 'small text-muted fw-normal', rowHint));
          }
        }
        row.appendChild(th);
        data.days.forEach(function (day) {
          var cell = el('td', 'text-center p-1');
          var slot = null;
          day.slots.forEach(function (s) { if (s.local_start.slice(11) === time) { slot = s; } });
          if (!slot) {
            cell.appendChild(el('span', STATE_CLASS.closed, STATE_TEXT.closed));
          } else if (slot.state === 'open' && slot.bookable) {
            var button = el('button', STATE_CLASS.open, STATE_TEXT.open);
            button.type = 'button';
            button.dataset.start = slot.local_start;
            button.dataset.end = slot.local_end;
            button.title = slot.local_start.replace('T', ' ') + '–' + slot.local_end.slice(11) +
              ' ' + data.zone + (showMine ? ' = ' + inViewerZone(slot.start) + ' ' + mine : '');
            button.addEventListener('click', function () { choose(slot); });
            cell.appendChild(button);
            // The offset between the two zones is computed per slot, not once per week: on
            // a clock-change day (here or there) the row's hint would be an hour off.
            var own = showMine ? timeIn(slot.start) : '';
            if (own && own !== rowHint) {
              cell.appendChild(el('div', 'small text-muted calendar-own-time', own));
            }
          } else {
            var state = slot.state === 'open' ? 'closed' : slot.state;
            var label = slot.state === 'open' ? t('notBookable') : STATE_TEXT[state];
            var span = el('span', STATE_CLASS[state], label);
            span.dataset.state = slot.state;
            cell.appendChild(span);
          }
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
      table.appendChild(body);
      var wrap = el('div', 'table-responsive');
      wrap.appendChild(table);
      box.appendChild(wrap);
      makeGrid(table, body);
      // The week buttons are drawn anew: the focus stays on the one that was pressed.
      if (refocus) { box.querySelector('[data-week="' + refocus + '"]').focus(); }
      box.dataset.state = 'ready';
      box.dataset.week = data.week;
    }

    function load(week, refocus) {
      var url = box.dataset.url + (week ? '?week=' + encodeURIComponent(week) : '');
      fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) { draw(data, refocus); })
        .catch(function () {
          box.textContent = '';
          box.appendChild(el('p', 'text-danger small', t('failed')));
        });
    }

    var first = startField && startField.value ? startField.value.slice(0, 10) : '';
    load(first);
  }

  document.querySelectorAll('.booking-calendar[data-url]').forEach(init);
}());
