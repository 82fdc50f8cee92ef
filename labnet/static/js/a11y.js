// After a failed submit the error summary (templates/_macros/forms.html, form_errors) takes
// the focus, so keyboard and screen-reader users meet what went wrong first; its links move
// the focus to the field in question.
(function () {
  'use strict';
  var summary = document.querySelector('[data-error-summary]');
  if (summary) { summary.focus(); }
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('[data-error-summary] a[href^="#"]');
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute('href').slice(1));
    if (field) { event.preventDefault(); field.focus(); }
  });
}());
