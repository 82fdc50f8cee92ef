"""one evidence store: claims' and label answers' PDFs under instance/evidence/<kind>/

Revision ID: ac5e0a7d1f02
Revises: ac5e0a7d1f01
Create Date: 2026-12-04 19:20:00

Claims kept their certificates as ``instance/evidence/<name>.pdf`` and label answers as
``instance/label-evidence/<application>/<criterion>-<random>.pdf``; both now live in one
store, ``instance/evidence/claims/`` and ``instance/evidence/label/``, stored names
``<kind>/<random>.pdf``. This moves existing files of the instance folder the migration
runs with and rewrites the names (``labnet.services.accreditation.evidence``); the
downgrade moves them back. No schema change.
"""
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = 'ac5e0a7d1f02'
down_revision = 'ac5e0a7d1f01'
branch_labels = None
depends_on = None


def upgrade():
    from labnet.services.accreditation import evidence
    evidence.adopt_legacy(op.get_bind(), current_app.instance_path)


def downgrade():
    from labnet.services.accreditation import evidence
    evidence.restore_legacy(op.get_bind(), current_app.instance_path)
