"""the verifier role; the level of a graded label on an accreditation

Revision ID: c0a1b2c3d4e5
Revises: b00ced9e0001
Create Date: 2026-12-04 15:30:00

Issue 14: verifiers (a platform role admins grant) check accreditation claims and score
excellence-label applications; the LabNet excellence label is recorded as an
accreditation of scheme ``labnet-excellence`` with a level (bronze, silver, gold).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c0a1b2c3d4e5'
down_revision = 'b00ced9e0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_role_role'),
                                         "role IN ('coordinator', 'admin', 'verifier')")
    with op.batch_alter_table('accreditation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table('accreditation', schema=None) as batch_op:
        batch_op.drop_column('level')
    op.execute("DELETE FROM user_role WHERE role = 'verifier'")
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_role_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_role_role'),
                                         "role IN ('coordinator', 'admin')")
