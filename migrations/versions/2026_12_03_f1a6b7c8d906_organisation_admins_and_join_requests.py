"""organisation admins, join requests, free-mail domains, demand-signal de-duplication

Revision ID: f1a6b7c8d906
Revises: f1a2b3c4d5e6
Create Date: 2026-12-03 13:30:00

Joining an organisation used to need only an address at the founder's e-mail domain,
free-mail domains included (issue 10, item 5). Now every user has a role inside their
organisation (``org_role``: member or admin) and a ``membership`` (active, or pending
until an organisation admin approves). Existing organisations: the earliest active member
becomes the organisation admin. Free-mail domains stop being recorded as an
organisation's domain.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a6b7c8d906'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_role', sa.String(length=8), nullable=False,
                                      server_default='member'))
        batch_op.add_column(sa.Column('membership', sa.String(length=8), nullable=False,
                                      server_default='active'))
        batch_op.create_index(batch_op.f('ix_user_account_membership'), ['membership'],
                              unique=False)
        batch_op.create_check_constraint(op.f('ck_user_account_org_role'),
                                         "org_role IN ('member', 'admin')")
        batch_op.create_check_constraint(op.f('ck_user_account_membership'),
                                         "membership IN ('active', 'pending')")

    # The earliest active member of each organisation (by creation, then id) becomes its
    # organisation admin; a correlated subquery that SQLite and PostgreSQL both run.
    op.execute(
        "UPDATE user_account SET org_role = 'admin' WHERE id IN ("
        " SELECT u.id FROM user_account u WHERE u.is_active = true AND u.id = ("
        "  SELECT f.id FROM user_account f"
        "  WHERE f.organisation_id = u.organisation_id AND f.is_active = true"
        "  ORDER BY f.created_at, f.id LIMIT 1))"
    )

    # A free-mail domain says nothing about an employer: forget it as a join domain.
    from labnet.data import free_mail_domains

    organisation = sa.table('organisation', sa.column('email_domain', sa.String))
    op.execute(
        organisation.update()
        .where(sa.func.lower(organisation.c.email_domain).in_(sorted(free_mail_domains())))
        .values(email_domain=None)
    )

    with op.batch_alter_table('demand_signal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f('uq_demand_signal_dedupe_key'), ['dedupe_key'])


def downgrade():
    with op.batch_alter_table('demand_signal', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_demand_signal_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')

    # Pending join requests were never members: they go with the columns.
    op.execute("DELETE FROM user_account WHERE membership = 'pending'")
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_org_role'), type_='check')
        batch_op.drop_constraint(op.f('ck_user_account_membership'), type_='check')
        batch_op.drop_index(batch_op.f('ix_user_account_membership'))
        batch_op.drop_column('membership')
        batch_op.drop_column('org_role')
