"""word index: letters without a decomposition folded as people type them ("Łódź" → "lodz"),
so the index is written again

Revision ID: d1a7c0f01d01
Revises: f7ee71a00002
Create Date: 2026-12-05 04:30:00

The word index (``search_term``) is written from the folded words of each lab. Folding
now also reads ł, đ, ø, æ, œ, þ and their kin as the plain letters people type, so
"Łódź" is "lodz" and no longer "odz". The index is rebuilt here by the builder the
application uses (``labnet.services.catalogue.search.index.rebuild``), so ``flask db
upgrade`` leaves it true on both engines; the downgrade leaves it as it is (the old
folding only found less).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd1a7c0f01d01'
down_revision = 'f7ee71a00002'
branch_labels = None
depends_on = None


def upgrade():
    from labnet.services.catalogue.search import index

    index.rebuild(op.get_bind())


def downgrade():
    pass
