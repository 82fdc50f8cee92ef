"""search speed: each lab's facet rows in one text (lab_facet_set), filled for the
existing data

Revision ID: f4ce75e70001
Revises: b7a1e5c0de02
Create Date: 2026-12-05 00:00:00

Issue 13 (fast at scale): a search's facet counts read one ``lab_facet_set`` row per
matching lab (its ``lab_facet`` rows as lines) and count the lines in Python, instead of
grouping ~20 ``lab_facet`` rows per lab in SQL. Filled here from ``lab_facet`` (the
builder the application uses, ``labnet.services.catalogue.search.lab_facets.set_texts``),
so ``flask db upgrade`` leaves it complete on both engines.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4ce75e70001'
down_revision = 'b7a1e5c0de02'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lab_facet_set',
        sa.Column('lab_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('codes', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_lab_facet_set_lab_id_lab'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('lab_id', name=op.f('pk_lab_facet_set')),
    )
    from labnet.models import LabFacet, LabFacetSet
    from labnet.services.catalogue.search import lab_facets

    conn = op.get_bind()
    rows = conn.execute(sa.select(LabFacet.lab_id, LabFacet.family, LabFacet.code,
                                  LabFacet.until)).all()
    texts = sorted(lab_facets.set_texts(rows).items())
    for start in range(0, len(texts), lab_facets.CHUNK):
        conn.execute(sa.insert(LabFacetSet), [{"lab_id": i, "codes": t}
                                              for i, t in texts[start:start + lab_facets.CHUNK]])


def downgrade():
    op.drop_table('lab_facet_set')
