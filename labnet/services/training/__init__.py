"""Training and events for people: registration and the waiting list
(``registration``: DESIGN rule 4, capacity held by the database; offers handed on exactly
once), attendance and certificates of attendance (``attendance``), qualifications that
equipment requires and courses grant (``qualifications``), and the registered events in a
person's calendar (``calendar``)."""
