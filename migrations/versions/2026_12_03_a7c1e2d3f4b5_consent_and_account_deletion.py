"""consent at registration, and deleted accounts

Revision ID: a7c1e2d3f4b5
Revises: f1a6b7c8d906
Create Date: 2026-12-03 16:40:00

People accept the terms and privacy notice when they register (``terms_accepted_at``,
``terms_version``); accounts made before stay without a record. A person may delete their
account: the row stays for the bookings and requests it made, anonymised (``deleted_at``).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c1e2d3f4b5'
down_revision = 'f1a6b7c8d906'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('terms_version', sa.String(length=20), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('terms_version')
        batch_op.drop_column('terms_accepted_at')
