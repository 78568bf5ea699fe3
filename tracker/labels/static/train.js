// The Train page: a refused request (a bad option, no loop to train) is shown as text in the Train panel's status.
// Served by tracker/labels; no build step.
document.addEventListener('htmx:responseError', (event) => {
  const el = document.getElementById('train-status');
  const xhr = event.detail.xhr;
  if (el) el.textContent = xhr.status + ': ' + xhr.responseText;
});
