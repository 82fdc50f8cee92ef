// The claim form: shows the valid-until date a claim gets when the field is left empty
// (issued on + the scheme's usual validity, minus a day), before anything is saved.
// Its words come translated from the page (data-no-fixed, data-left-empty on
// #scheme-validity, "{day}" where the date goes); English when they are missing.
(function () {
  const form = document.getElementById("claim-form");
  if (!form) return;
  const scheme = form.querySelector("[name=scheme_code]");
  const from = form.querySelector("[name=valid_from]");
  const until = form.querySelector("[name=valid_until]");
  const out = document.getElementById("valid-until-preview");
  const table = document.getElementById("scheme-validity");
  const words = (table && table.dataset) || {};
  const noFixed = words.noFixed || "This scheme has no fixed validity: it stays valid until withdrawn.";
  const leftEmpty = words.leftEmpty || "Left empty, valid until will be {day}.";
  function months(code) {
    const row = document.querySelector(`#scheme-validity tr[data-scheme="${CSS.escape(code)}"]`);
    return row && row.dataset.months ? parseInt(row.dataset.months, 10) : null;
  }
  function update() {
    out.textContent = "";
    if (until.value || !from.value || !scheme.value) return;
    const m = months(scheme.value);
    if (!m) { out.textContent = noFixed; return; }
    const [y, mo, d] = from.value.split("-").map(Number);
    const total = mo - 1 + m;
    const year = y + Math.floor(total / 12), month = total % 12;
    const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const end = new Date(Date.UTC(year, month, Math.min(d, last)) - 86400000);
    out.textContent = leftEmpty.replace("{day}", end.toISOString().slice(0, 10));
  }
  [scheme, from, until].forEach((el) => el.addEventListener("input", update));
  [scheme, from, until].forEach((el) => el.addEventListener("change", update));
  update();
})();
