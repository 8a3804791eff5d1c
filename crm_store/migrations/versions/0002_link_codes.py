"""link codes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 16:00:51.361643
"""
import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('link_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_codes_customer_id'), ['customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_codes_customer_id'))

    op.drop_table('link_codes')
