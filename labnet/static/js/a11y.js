// After a failed submit the error summary (templates/_macros/forms.html, form_errors) takes
// the focus, so keyboard and screen-reader users meet what went wrong first; its links move
// the focus to the field in question.
(function () {
  'use strict';
  // Else what a step of a form answered (the booking's price) takes it, when there is one.
  var first = document.querySelector('[data-error-summary]') ||
    document.querySelector('[data-focus-on-load]');
  if (first) { first.focus(); }
  document.addEventListener('click', function (event) {
    var link = event.target.closest && event.target.closest('[data-error-summary] a[href^="#"]');
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute('href').slice(1));
    if (field) { event.preventDefault(); field.focus(); }
  });
}());
