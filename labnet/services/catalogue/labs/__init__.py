"""Lab managers publish: the lab profile and booking policy, opening hours, equipment, and
equipment import and export as CSV.

The rules live in the modules of this package, each naming those it owns:

- ``profile``: the lab profile, KET areas, capabilities, booking policy, publishing, placing
  on the map, and the weekly opening hours;
- ``equipment``: adding, editing and retiring equipment, its specifications, and the lab's
  equipment count;
- ``csv_import``: CSV import and export of equipment (all rows or none, every problem with
  its line and column), and the CSV reader the lab import shares;
- ``creation``: labs join the platform (proposals and their decisions, labs created by admins
  and coordinators, the one function that makes a lab); ``lab_import``: many labs from CSV;
- ``picker``: a lab named by its name or address name, and the pickers' suggestions.

Callers import from here (``from labnet.services.catalogue import labs``).
"""

from labnet.errors import RuleViolations
from labnet.services.catalogue.labs.csv_import import (
    CSV_COLUMNS,
    CSV_MAX_BYTES,
    MAX_IMPORT_ROWS,
    REQUIRED_COLUMNS,
    TEMPLATE_ROW,
    CodeChoice,
    CsvImportError,
    ImportProblem,
    ImportResult,
    equipment_code_choices,
    equipment_codes_csv,
    equipment_csv_template,
    export_equipment_csv,
    import_equipment_csv,
)
from labnet.services.catalogue.labs.equipment import (
    CURRENCIES,
    MAX_BUFFER_MINUTES,
    MAX_RATE,
    MAX_SPECS,
    MAX_UNITS,
    EquipmentData,
    add_equipment,
    data_of,
    equipment_problems,
    retire_equipment,
    spec_field,
    update_equipment,
)
from labnet.services.catalogue.labs.profile import (
    DAY_KEYS,
    MAX_ADVANCE_DAYS,
    MAX_CANCEL_HOURS,
    MAX_HOLD_HOURS,
    MAX_INTERVALS_PER_DAY,
    MAX_LEAD_HOURS,
    NOT_FOUND_MESSAGE,
    Interval,
    LabProfile,
    ProfileSaved,
    european_time_zones,
    get_lab_for_edit,
    hours_field,
    is_time_zone,
    profile_of,
    set_opening_hours,
    update_lab_profile,
)

__all__ = [
    "CSV_COLUMNS",
    "CSV_MAX_BYTES",
    "CURRENCIES",
    "DAY_KEYS",
    "MAX_ADVANCE_DAYS",
    "MAX_BUFFER_MINUTES",
    "MAX_CANCEL_HOURS",
    "MAX_HOLD_HOURS",
    "MAX_IMPORT_ROWS",
    "MAX_INTERVALS_PER_DAY",
    "MAX_LEAD_HOURS",
    "MAX_RATE",
    "MAX_SPECS",
    "MAX_UNITS",
    "NOT_FOUND_MESSAGE",
    "REQUIRED_COLUMNS",
    "TEMPLATE_ROW",
    "CodeChoice",
    "CsvImportError",
    "EquipmentData",
    "ImportProblem",
    "ImportResult",
    "Interval",
    "LabProfile",
    "ProfileSaved",
    "RuleViolations",
    "add_equipment",
    "data_of",
    "equipment_code_choices",
    "equipment_codes_csv",
    "equipment_csv_template",
    "equipment_problems",
    "european_time_zones",
    "export_equipment_csv",
    "get_lab_for_edit",
    "hours_field",
    "import_equipment_csv",
    "is_time_zone",
    "profile_of",
    "retire_equipment",
    "set_opening_hours",
    "spec_field",
    "update_equipment",
    "update_lab_profile",
]
