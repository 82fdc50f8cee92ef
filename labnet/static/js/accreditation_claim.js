// The claim form: shows the valid-until date a claim gets when the field is left empty
// (issued on + the scheme's usual validity, minus a day), before anything is saved.
(function () {
  const form = document.getElementById("claim-form");
  if (!form) return;
  const scheme = form.querySelector("[name=scheme_code]");
  const from = form.querySelector("[name=valid_from]");
  const until = form.querySelector("[name=valid_until]");
  const out = document.getElementById("valid-until-preview");
  function months(code) {
    const row = document.querySelector(`#scheme-validity tr[data-scheme="${CSS.escape(code)}"]`);
    return row && row.dataset.months ? parseInt(row.dataset.months, 10) : null;
  }
  function update() {
    out.textContent = "";
    if (until.value || !from.value || !scheme.value) return;
    const m = months(scheme.value);
    if (!m) { out.textContent = "This scheme has no fixed validity: it stays valid until withdrawn."; return; }
    const [y, mo, d] = from.value.split("-").map(Number);
    const total = mo - 1 + m;
    const year = y + Math.floor(total / 12), month = total % 12;
    const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const end = new Date(Date.UTC(year, month, Math.min(d, last)) - 86400000);
    out.textContent = `Left empty, valid until will be ${end.toISOString().slice(0, 10)}.`;
  }
  [scheme, from, until].forEach((el) => el.addEventListener("input", update));
  [scheme, from, until].forEach((el) => el.addEventListener("change", update));
  update();
})();
