"""registry speed: the scope word index (accreditation_term), filled for the existing
accreditations, the catalogue filter's covering index on accreditation, labs by country
and name

Revision ID: ac5e0a7d1f01
Revises: 9fd0f797c0b8
Create Date: 2026-12-04 19:00:00

The public registry searches scopes by words through ``accreditation_term`` instead of
reading every scope, and ``/labs?accreditation=<scheme>`` finds the labs holding a valid
one of a scheme in ``ix_accreditation_scheme_valid_lab`` alone; the registry filtered by
country walks ``ix_lab_published_country_name`` in name order. The table is filled by
the builder the application uses (``labnet.services.accreditation.scope_words.rebuild``).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'ac5e0a7d1f01'
down_revision = '9fd0f797c0b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'accreditation_term',
        sa.Column('term', sa.String(length=80), nullable=False),
        sa.Column('accreditation_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['accreditation_id'], ['accreditation.id'],
                                name=op.f('fk_accreditation_term_accreditation_id_accreditation'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'accreditation_id', name=op.f('pk_accreditation_term')),
    )
    with op.batch_alter_table('accreditation_term', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accreditation_term_accreditation_id'),
                              ['accreditation_id'], unique=False)
    with op.batch_alter_table('accreditation', schema=None) as batch_op:
        batch_op.create_index('ix_accreditation_scheme_valid_lab',
                              ['scheme_code', 'status', 'ends_at', 'lab_id'], unique=False)
    with op.batch_alter_table('lab', schema=None) as batch_op:
        batch_op.create_index('ix_lab_published_country_name',
                              ['is_published', 'country', 'name', 'id'], unique=False)

    from labnet.services.accreditation import scope_words
    scope_words.rebuild(op.get_bind())


def downgrade():
    with op.batch_alter_table('lab', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_published_country_name')
    with op.batch_alter_table('accreditation', schema=None) as batch_op:
        batch_op.drop_index('ix_accreditation_scheme_valid_lab')
    with op.batch_alter_table('accreditation_term', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accreditation_term_accreditation_id'))
    op.drop_table('accreditation_term')
