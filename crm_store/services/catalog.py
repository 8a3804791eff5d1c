"""The product catalogue: search by words and category."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from crm_store import dto, errors, models
from crm_store.unit_of_work import UnitOfWork

MAX_QUERY_LENGTH = 100


def _product_info(product: models.Product) -> dto.ProductInfo:
    return dto.ProductInfo(
        sku=product.sku,
        name=product.name,
        category=product.category,
        price_cents=product.price_cents,
        stock=product.stock,
        description=product.description,
    )


def categories(uow: UnitOfWork) -> list[str]:
    with uow:
        rows = uow.session.execute(
            select(models.Product.category).distinct().order_by(models.Product.category)
        )
        return [row[0] for row in rows]


def search_products(
    uow: UnitOfWork, *, query: str = "", category: str | None = None, limit: int = 5
) -> list[dto.ProductInfo]:
    """Products whose name, category or description contain every word of ``query``.

    Words are bound parameters (never spliced into SQL); in-stock products come first.
    """
    words = [w for w in (query or "")[:MAX_QUERY_LENGTH].lower().split() if len(w) > 1]
    statement = select(models.Product)
    for word in words:
        literal = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{literal}%"
        statement = statement.where(
            or_(
                func.lower(models.Product.name).like(pattern, escape="\\"),
                func.lower(models.Product.category).like(pattern, escape="\\"),
                func.lower(models.Product.description).like(pattern, escape="\\"),
            )
        )
    if category:
        statement = statement.where(func.lower(models.Product.category) == category.lower())
    statement = statement.order_by((models.Product.stock > 0).desc(), models.Product.name)
    with uow:
        return [_product_info(p) for p in uow.session.execute(statement.limit(limit)).scalars()]


def get_product(sku: str, uow: UnitOfWork) -> dto.ProductInfo:
    with uow:
        product = uow.session.execute(
            select(models.Product).where(models.Product.sku == (sku or "").strip().upper())
        ).scalar_one_or_none()
        if product is None:
            raise errors.InvalidInput(f"no product {sku}")
        return _product_info(product)
