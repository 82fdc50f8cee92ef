"""The notifications area: e-mail.

:mod:`.outbox` owns the outbox (a row written in the caller's transaction, delivered after
commit), autoescaped bodies (DESIGN rule 7), no working token kept after sending, header
values without CR/LF, and delivery message by message with bounded retries.
"""
