"""organisation administration: verified SME class, proof asked on bookings, join
reminders, Reply-To on mail

Revision ID: a7d0e1f2c3b4
Revises: a7c1d2e3f407
Create Date: 2026-12-03 16:40:00

A company's size class stays self-declared (SME rates at once) until a platform admin
verifies it (``organisation.size_verified_at``/``size_verified_by_id``); a lab manager may
ask for proof on a booking (``booking.sme_proof_requested_at``). Join requests remember when
their approvers were reminded (``user_account.join_reminded_at``). A lab contact message
carries its sender as Reply-To (``outbox_email.reply_to``). Existing rows need no data:
every existing size class is self-declared, nothing was asked or reminded yet.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7d0e1f2c3b4'
down_revision = 'a7c1d2e3f407'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('size_verified_by_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sme_proof_requested_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_reminded_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('reply_to')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('join_reminded_at')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('sme_proof_requested_at')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('size_verified_by_id')
        batch_op.drop_column('size_verified_at')
