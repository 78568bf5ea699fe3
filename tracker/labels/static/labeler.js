// Keyboard and selection for the labeler grid. Served by tracker/labels; no build step.
(function () {
  let sel = 0;
  const cards = () => Array.from(document.querySelectorAll('#grid .card'));
  function select(i) {
    const cs = cards();
    if (cs.length === 0) return;
    sel = Math.max(0, Math.min(cs.length - 1, i));
    cs.forEach((c, j) => c.classList.toggle('selected', j === sel));
  }
  document.addEventListener('DOMContentLoaded', () => select(0));
  document.addEventListener('htmx:afterSettle', () => select(sel));
  document.addEventListener('htmx:responseError', (e) => {
    const status = document.getElementById('status');
    if (status) status.textContent = e.detail.xhr.status + ': ' + e.detail.xhr.responseText;
  });
  document.addEventListener('click', (e) => {
    const card = e.target.closest && e.target.closest('#grid .card');
    if (card) select(cards().indexOf(card));
  });
  document.addEventListener('keydown', (e) => {
    if (e.target.closest && e.target.closest('input[type=text], select, textarea')) return;
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
        const cur = group.dataset.value;
        const next = cur === '' ? '1' : cur === '1' ? '0' : '';
        group.querySelector('button[data-v="' + next + '"]').click();
      }
    } else if (e.key === 'x' && card) card.querySelector('input.exclude').click();
    else if (e.key === 'v' && card) card.querySelector('input.validation').click();
    else if (e.key === 'u' || e.key === 'z') document.getElementById('undo').click();
    else if (e.key === 'n') document.getElementById('sample').click();
    else handled = false;
    if (handled) e.preventDefault();
  });
})();
