"""The accreditation area: claims of external schemes and LabNet's own excellence label.

- :mod:`.claims`, :mod:`.validity`, :mod:`.reminders`: claims with evidence, verification,
  expiry and renewal; the one rule of which accreditations count;
- :mod:`.evidence`: the one store of evidence PDFs (claims and label answers);
- :mod:`.registry`, :mod:`.scope_words`: the public registry (keyset pages, the scope
  word index) and verification pages;
- :mod:`.label_framework`: the excellence framework read from
  ``data/excellence_framework.yaml`` and the level rule (total and group minima);
- :mod:`.label_figures`: the figures LabNet knows of a lab's last 12 months;
- :mod:`.label`: the label workflow (draft, submit, two independent scores, a third on
  disagreement, award or not, renewal).
"""

# The scope word index's flush hook must be listening whichever writer runs first.
from labnet.services.accreditation import scope_words as _scope_words  # noqa: F401
