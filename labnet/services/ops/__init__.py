"""Operating LabNet: readiness, metrics read from the database, backups."""
