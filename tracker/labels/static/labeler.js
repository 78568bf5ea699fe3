// Keyboard, clicks and selection for the labeler grid. Served by tracker/labels; no build step.
//
// Every card control is handled here at the document level, so a key pressed right after a card was swapped in works
// on the new card at once (nothing waits for htmx to bind it). Writes go out one at a time, in the order they were
// made, and each response (the one card, the counts, the history) is swapped in with htmx.swap.
(function () {
  let sel = 0;
  let queue = Promise.resolve();
  /** Values sent but not yet confirmed by a swapped-in card, so fast repeated keys cycle from what was sent. */
  const pending = new Map();
  const cards = () => Array.from(document.querySelectorAll('#grid .card'));
  const status = (text) => {
    const el = document.getElementById('status');
    if (el) el.textContent = text;
  };
  function select(i) {
    const cs = cards();
    if (cs.length === 0) return;
    sel = Math.max(0, Math.min(cs.length - 1, i));
    cs.forEach((c, j) => c.classList.toggle('selected', j === sel));
  }

  function send(path, values, target, swapStyle, done) {
    queue = queue.then(async () => {
      try {
        const res = await fetch(document.body.dataset.base + path, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'HX-Request': 'true', 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(values),
        });
        const text = await res.text();
        if (!res.ok) status(res.status + ': ' + text);
        else htmx.swap(target, text, { swapStyle, swapDelay: 0, settleDelay: 0 });
      } catch (error) {
        status('write failed: ' + error);
      } finally {
        if (done) done();
        select(sel);
      }
    });
  }

  function label(card, group, value) {
    const cell = card.dataset.key + '\u0000' + group.dataset.class;
    pending.set(cell, value);
    const values = { key: card.dataset.key, class: group.dataset.class, value };
    send('/labels', values, '#' + card.id, 'outerHTML', () => {
      if (pending.get(cell) === value) pending.delete(cell);
    });
  }
  function flag(card, name, checked) {
    const values = { key: card.dataset.key, flag: name, value: checked ? '1' : '0' };
    send('/flags', values, '#' + card.id, 'outerHTML');
  }
  const undo = () => send('/undo', {}, 'body', 'none');

  document.addEventListener('DOMContentLoaded', () => select(0));
  document.addEventListener('click', (e) => {
    const t = e.target;
    if (!t.closest) return;
    if (t.closest('#undo')) return undo();
    const card = t.closest('#grid .card');
    if (!card) return;
    select(cards().indexOf(card));
    const button = t.closest('.cls button[data-v]');
    if (button) return label(card, button.closest('.cls'), button.dataset.v);
    // The browser has already toggled the box: send its new state.
    if (t.matches('input[data-flag]')) flag(card, t.dataset.flag, t.checked);
  });
  document.addEventListener('keydown', (e) => {
    if (e.target.closest && e.target.closest('input[type=text], input[type=number], select, textarea'))
      return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const grid = document.getElementById('grid');
    if (!grid) return;
    const dim = Number(grid.dataset.dim) || 3;
    const card = cards()[sel];
    let handled = true;
    if (e.key === 'ArrowRight') select(sel + 1);
    else if (e.key === 'ArrowLeft') select(sel - 1);
    else if (e.key === 'ArrowDown') select(sel + dim);
    else if (e.key === 'ArrowUp') select(sel - dim);
    else if (/^Digit[1-9]$/.test(e.code) && card) {
      const group = card.querySelector('.cls[data-class-index="' + (Number(e.code.slice(5)) - 1) + '"]');
      if (group) {
        const cur = pending.get(card.dataset.key + '\u0000' + group.dataset.class) ?? group.dataset.value;
        label(card, group, cur === '' ? '1' : cur === '1' ? '0' : '');
      }
    } else if ((e.key === 'x' || e.key === 'v') && card) {
      const box = card.querySelector(e.key === 'x' ? 'input.exclude' : 'input.validation');
      box.checked = !box.checked;
      flag(card, box.dataset.flag, box.checked);
    } else if (e.key === 'u' || e.key === 'z') undo();
    else if (e.key === 'n') document.getElementById('sample').click();
    else handled = false;
    if (handled) e.preventDefault();
  });
})();
