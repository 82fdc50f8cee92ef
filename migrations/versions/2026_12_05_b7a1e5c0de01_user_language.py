"""the language an account reads LabNet and receives e-mail in

Revision ID: b7a1e5c0de01
Revises: ac5e0a7d1f03
Create Date: 2026-12-05 00:00:00

``user_account.locale``: a code of ``labnet.i18n.LANGUAGES``, or "" when the person has
not chosen (pages then follow the browser; e-mail is written in LabNet's default).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7a1e5c0de01'
down_revision = 'ac5e0a7d1f03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('locale')
