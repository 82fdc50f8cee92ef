"""Rules every area shares.

- :mod:`.audit`: every state-changing service records who did what, when, in the caller's
  transaction;
- :mod:`.text`: the one rule for single-line and multi-line text (DESIGN rule 5);
- :mod:`.spreadsheet`: CSV cells a spreadsheet reads as text (DESIGN rule 7).
"""
