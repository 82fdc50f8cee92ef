"""outbox: redacted copies of bodies with secret links; redact mail already sent

Revision ID: f1a2b3c4d5e6
Revises: e9c4a5b6d705
Create Date: 2026-12-03 13:40:00

"""
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'e9c4a5b6d705'
branch_labels = None
depends_on = None

# Mail written before this revision kept its working reset, confirmation and cancel links
# after sending. New mail marks its secret links when it is built (labnet.links); for the
# old rows only the link shapes are known, so they are matched here, once.
_SECRET_LINK = re.compile(r"https?://[^\s\"'<>]+/(?:account/(?:reset|confirm)|bookings/cancel)"
                          r"/[A-Za-z0-9._~%-]+")
_REDACTED = "[link removed after sending]"
# "logged" (development without SMTP) was never sent: its links stay readable there.
_DONE = ("sent", "failed", "digested")


def upgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('redacted_html', sa.Text(), nullable=True))

    outbox = sa.table('outbox_email', sa.column('id', sa.Integer), sa.column('status', sa.String),
                      sa.column('body_text', sa.Text), sa.column('body_html', sa.Text))
    conn = op.get_bind()
    last = 0
    while True:  # in batches: the outbox may be large
        rows = conn.execute(sa.select(outbox.c.id, outbox.c.body_text, outbox.c.body_html)
                            .where(outbox.c.status.in_(_DONE), outbox.c.id > last)
                            .order_by(outbox.c.id).limit(1000)).all()
        if not rows:
            break
        last = rows[-1].id
        for row in rows:
            text = _SECRET_LINK.sub(_REDACTED, row.body_text or "")
            html = _SECRET_LINK.sub(_REDACTED, row.body_html or "")
            if text != row.body_text or html != row.body_html:
                conn.execute(outbox.update().where(outbox.c.id == row.id)
                             .values(body_text=text, body_html=html))


def downgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('redacted_html')
        batch_op.drop_column('redacted_text')
