// Call records page: ask before a voicemail message is deleted. The page
// works without it; the server checks who may delete what.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('main[data-section="calls"] form[data-confirm]').forEach((f) => {
    f.addEventListener('submit', (ev) => {
      if (!window.confirm(f.dataset.confirm)) ev.preventDefault();
    });
  });
});
