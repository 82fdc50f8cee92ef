"""word-search index (search_term), filled for the existing labs

Revision ID: a7c3d9e1f207
Revises: a3c5e7f9b102
Create Date: 2026-12-03 17:00:00

Issue 13: the word search reads an index of normalised terms per lab (stems, vocabulary
concepts, adjacent word pairs; ``labnet.services.catalogue.search.text``), the same table
on SQLite and PostgreSQL. The table is created and filled from the existing labs, their
KET areas, equipment and specifications by the one builder the application uses
(``labnet.services.catalogue.search.index.rebuild``), so ``flask db upgrade`` leaves a
complete index on both engines.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c3d9e1f207'
down_revision = 'a3c5e7f9b102'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_term',
        sa.Column('term', sa.String(length=80), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('fields', sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_search_term_lab_id_lab'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'lab_id', name=op.f('pk_search_term')),
    )
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_term_lab_id'), ['lab_id'], unique=False)

    from labnet.services.catalogue.search.index import rebuild
    rebuild(op.get_bind())


def downgrade():
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_term_lab_id'))
    op.drop_table('search_term')
