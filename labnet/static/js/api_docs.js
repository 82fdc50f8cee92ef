// Renders the OpenAPI document as a list of operations, with DOM nodes only (no markup
// from the document is ever parsed as HTML).
(function () {
  "use strict";
  const root = document.getElementById("api-reference");
  if (!root) return;
  // The words come translated from the page (data-label-*); English when absent.
  function word(name, english) { return root.dataset[name] || english; }
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  fetch(root.dataset.spec).then((r) => r.json()).then((spec) => {
    root.textContent = "";
    Object.entries(spec.paths).forEach(([path, methods]) => {
      Object.entries(methods).forEach(([method, op]) => {
        const card = el("section", null, "border rounded p-2 mb-2");
        const head = el("h3", null, "h6 mb-1");
        head.appendChild(el("code", method.toUpperCase() + " " + path));
        card.appendChild(head);
        card.appendChild(el("p", op.summary, "mb-1"));
        const scope = (op.security || []).map((s) => (s.bearer || []).join(" ")).filter(Boolean)
          .join(" " + word("labelOr", "or") + " ");
        card.appendChild(el("p", scope ? word("labelScope", "Token scope:") + " " + scope
                                       : word("labelPublic", "Public: no token needed"),
                            "small text-muted mb-1"));
        const params = (op.parameters || []).map((p) => p.name + " (" + p.in + ")");
        if (params.length) {
          card.appendChild(el("p", word("labelParameters", "Parameters:") + " " + params.join(", "),
                              "small mb-1"));
        }
        if (op.requestBody) {
          const ref = op.requestBody.content["application/json"].schema.$ref.split("/").pop();
          const schema = spec.components.schemas[ref];
          card.appendChild(el("p", word("labelBody", "Body:") + " " +
                                   Object.keys(schema.properties || {}).join(", "),
                              "small mb-1"));
        }
        card.appendChild(el("p", word("labelAnswers", "Answers:") + " " +
                                 Object.keys(op.responses).join(", "), "small mb-0"));
        root.appendChild(card);
      });
    });
  }).catch(() => { root.textContent = word("labelFailed", "The document could not be loaded."); });
})();
