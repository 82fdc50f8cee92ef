// Lab pickers: an <input data-lab-picker="/labs/suggest.json"> suggests published labs by
// name as people type, through a <datalist> (keyboard accessible: arrow keys and Enter).
// Without JavaScript the field still takes a lab's name or address name; the server decides.
(function () {
  "use strict";
  function attach(input, index) {
    var list = document.createElement("datalist");
    list.id = (input.id || "lab-picker") + "-suggestions-" + index;
    input.after(list);
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var timer = null, asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === asked) { return; }
        asked = q;
        fetch(input.dataset.labPicker + "?q=" + encodeURIComponent(q),
              {headers: {"Accept": "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (labs) {
            if (asked !== q) { return; }
            list.replaceChildren();
            labs.forEach(function (lab) {
              var option = document.createElement("option");
              option.value = lab.value;
              option.textContent = lab.label;  // text, never markup (DESIGN rule 7)
              list.appendChild(option);
            });
          })
          .catch(function () { /* no suggestions: the field still works */ });
      }, 150);
    });
  }
  document.querySelectorAll("input[data-lab-picker]").forEach(attach);
})();
