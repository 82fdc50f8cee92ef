"""Form fields shared by the blueprints: dates bounded like every date read from input."""

from __future__ import annotations

from wtforms import DateField, DateTimeLocalField

from labnet.dates import RANGE_MESSAGE, in_range


class _Bounded:
    """Mixin for WTForms date fields: a parsed value outside the years is a field error,
    and the data is None so nothing downstream computes with it. The typed text stays in
    ``raw_data`` and is shown again."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)  # type: ignore[misc]
        value = self.data  # type: ignore[has-type]
        if value is not None and not in_range(value):  # a datetime is a date too
            self.data = None
            raise ValueError(str(RANGE_MESSAGE))


class BoundedDateField(_Bounded, DateField):
    """A ``DateField`` limited to the years 2000..2100."""


class BoundedDateTimeLocalField(_Bounded, DateTimeLocalField):
    """A ``DateTimeLocalField`` limited to the years 2000..2100."""
