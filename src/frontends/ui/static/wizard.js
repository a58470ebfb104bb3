// Progressive enhancement for the wizard (every page works without it): live filtering of the
// extension list, and copy buttons. Loaded as a file from the factory itself (strict CSP, no
// inline script). Live build status per asset will attach to the `.asset-status` elements.
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

document.addEventListener('DOMContentLoaded', () => {
  filterExtensions();
  copyButtons();
});
