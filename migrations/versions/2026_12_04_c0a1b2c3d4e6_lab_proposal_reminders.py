"""a pending lab proposal's reminder and escalation

Revision ID: c0a1b2c3d4e6
Revises: c0a1b2c3d4e5
Create Date: 2026-12-04 15:50:00

A proposal still pending after 3 days reminds its reviewers once; after 7 days LabNet's
admins are asked too (job ``lab-proposals``).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c0a1b2c3d4e6'
down_revision = 'c0a1b2c3d4e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('lab_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('lab_proposal', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('reminded_at')
