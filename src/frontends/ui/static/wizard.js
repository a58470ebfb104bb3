// Progressive enhancement for the wizard (every page works without it): live filtering of the
// extension list, copy buttons, and the final page's live build status per asset (the status
// stream of `GET /status/…`, and "Build now" = `POST /status/…`). Loaded as a file from the
// factory itself (strict CSP, no inline script).
'use strict';

function filterExtensions() {
  const search = document.getElementById('ext-search');
  const list = document.getElementById('ext-list');
  const count = document.getElementById('ext-count');
  if (!search || !list || !count) return;
  const items = Array.from(list.querySelectorAll('li.ext'));
  const total = Number(count.dataset.total || items.length);
  const update = () => {
    const q = search.value.trim().toLowerCase();
    let shown = 0;
    let selected = 0;
    for (const li of items) {
      const box = li.querySelector('input[type=checkbox]');
      const checked = Boolean(box && box.checked);
      if (checked) selected++;
      const visible = q === '' || checked || (li.dataset.search || '').includes(q);
      li.hidden = !visible;
      if (visible) shown++;
    }
    count.textContent =
      `${shown} of ${total} extensions shown` + (selected > 0 ? `, ${selected} selected.` : '.');
  };
  search.addEventListener('input', update);
  list.addEventListener('change', update);
  // With the list filtering live, Enter in the search field must not leave the page.
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') e.preventDefault();
  });
  // The no-JS search may have narrowed the server-side list: with JS, show the whole catalog.
  if (items.length < total && search.value !== '') return;
  update();
}

function copyButtons() {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    const target = document.getElementById(button.dataset.copy || '');
    if (!target || !navigator.clipboard) continue;
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener('click', () => {
      navigator.clipboard.writeText(target.textContent || '').then(
        () => {
          button.textContent = 'Copied';
          setTimeout(() => (button.textContent = label), 1500);
        },
        () => {
          button.textContent = 'Copy failed: select the text instead';
        },
      );
    });
  }
}

// --- Live build status. Wording as in src/frontends/ui/status-text.ts (the server's first render).

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  let v = n;
  let unit = 'B';
  for (const u of ['KiB', 'MiB', 'GiB', 'TiB']) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit}`;
}

function formatElapsed(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function statusText(s) {
  const first = s.dependency ? ` (its ${s.dependency} first)` : '';
  switch (s.state) {
    case 'ready':
      return `Ready · ${formatBytes(s.size)}`;
    case 'idle':
      return 'Not built yet';
    case 'queued':
      return `Queued${s.position > 0 ? ` (position ${s.position})` : ''}${first}`;
    case 'building':
      return `Building${first}${s.step ? `: ${s.step}` : ''}`;
    case 'failed':
      return `Failed${first}: ${s.message}`;
    default:
      return '';
  }
}

// Browsers allow ~6 connections per host over HTTP/1.1: a few streams at once, the rest wait.
const MAX_STREAMS = 3;

function liveStatus() {
  const elements = Array.from(document.querySelectorAll('.asset-status[data-status-url]'));
  if (elements.length === 0 || typeof EventSource === 'undefined' || typeof fetch === 'undefined') return;
  const waiting = [];
  let open = 0;

  const render = (row, s) => {
    row.status = s;
    row.startedAt = s.state === 'building' ? Date.now() - (s.elapsedMs || 0) : 0;
    row.el.dataset.state = s.state;
    row.el.className = `asset-status state-${s.state}`;
    // Only the text is a live region: the elapsed time ticking beside it is not announced.
    if (row.text.textContent !== statusText(s)) row.text.textContent = statusText(s);
    row.elapsed.textContent = s.state === 'building' ? ` · ${formatElapsed(s.elapsedMs || 0)}` : '';
    if (row.button) {
      row.button.hidden = s.state !== 'idle' && s.state !== 'failed';
      row.button.disabled = false;
      const label = s.state === 'failed' ? 'Try again' : 'Build now';
      row.button.textContent = label;
      row.button.setAttribute('aria-label', `${label}: ${row.button.dataset.build}`);
    }
  };

  const follow = (row) => {
    if (row.stream || waiting.includes(row)) return;
    if (open >= MAX_STREAMS) {
      waiting.push(row);
      return;
    }
    open++;
    const stream = new EventSource(row.url);
    row.stream = stream;
    const done = () => {
      stream.close();
      row.stream = undefined;
      open--;
      const next = waiting.shift();
      if (next) follow(next);
    };
    stream.addEventListener('status', (event) => {
      let s;
      try {
        s = JSON.parse(event.data);
      } catch {
        return;
      }
      render(row, s);
      // The server ends the stream after a final state; closing first keeps EventSource from reconnecting.
      if (s.state === 'ready' || s.state === 'failed') done();
    });
    stream.addEventListener('error', () => {
      // CONNECTING: EventSource retries by itself. CLOSED: the server refused the stream (a 4xx).
      if (stream.readyState !== EventSource.CLOSED) return;
      done();
      request(row, 'GET');
    });
  };

  const request = (row, method) =>
    fetch(row.url, { method, headers: { Accept: 'application/json' } })
      .then((res) => res.json().then((body) => ({ ok: res.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) {
          render(row, { state: 'failed', message: body.message || 'the status request failed' });
          return;
        }
        render(row, body);
        if (body.state === 'queued' || body.state === 'building') follow(row);
      })
      .catch(() => render(row, { state: 'failed', message: 'the factory did not answer' }));

  const rows = elements.map((el) => {
    const li = el.closest('li');
    const row = {
      el,
      text: el.querySelector('.status-text') || el,
      elapsed: el.querySelector('.elapsed') || document.createElement('span'),
      url: el.dataset.statusUrl,
      button: li ? li.querySelector('button[data-build]') : null,
      status: { state: el.dataset.state },
      startedAt: 0,
      stream: undefined,
    };
    if (row.button) {
      row.button.hidden = row.status.state !== 'idle' && row.status.state !== 'failed';
      row.button.addEventListener('click', () => {
        row.button.disabled = true;
        request(row, 'POST');
      });
    }
    // A download starts the build too: follow it from the moment the request is in.
    const link = li ? li.querySelector('a[download]') : null;
    if (link) {
      link.addEventListener('click', () => {
        if (row.status.state !== 'ready') setTimeout(() => request(row, 'GET'), 500);
      });
    }
    return row;
  });

  // The page was rendered with the state at that moment: pick up what is already under way.
  for (const row of rows) {
    if (row.status.state === 'queued' || row.status.state === 'building') follow(row);
  }
  // Elapsed time moves on between events (the stream sends only changes).
  setInterval(() => {
    for (const row of rows) {
      // startedAt comes with the first event (a row rendered as building waits for it).
      if (row.status.state !== 'building' || row.startedAt === 0) continue;
      row.elapsed.textContent = ` · ${formatElapsed(Date.now() - row.startedAt)}`;
    }
  }, 1000);
}

document.addEventListener('DOMContentLoaded', () => {
  filterExtensions();
  copyButtons();
  liveStatus();
});
