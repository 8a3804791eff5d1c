"""`caredesk recommend train` on a seeded SQLite CRM, serving from what it stored, `caredesk segments`,
and `caredesk recommend evaluate` on small CSV files (good and bad)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update

from caredesk.cli import main
from crm_store import models
from crm_store.migrate import upgrade
from crm_store.seed import seed_shop
from crm_store.services import recommend
from crm_store.unit_of_work import UnitOfWork
from tests.conftest import AS_OF

DAY = AS_OF.strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    var = tmp_path_factory.mktemp("recommend_cli")
    url = f"sqlite:///{var / 'crm.db'}"
    upgrade(url)
    seed_shop(url, customers=300, seed=5, as_of=AS_OF)
    return var, url


@pytest.fixture
def settings_for(shop, monkeypatch):
    var, url = shop
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(var))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CAREDESK_MODELS_DIR", str(var / "models"))
    from common.settings import get_settings
    get_settings.cache_clear()
    yield var, url
    get_settings.cache_clear()


@pytest.fixture
def trained(settings_for, capsys):
    var, url = settings_for
    assert main(["recommend", "train", "--as-of", DAY]) == 0
    return var / "models", url, capsys.readouterr()


def test_train_stores_the_model_and_says_what_it_read(trained):
    model_dir, _, captured = trained
    assert (model_dir / recommend.MODEL_FILE).exists()
    assert "Built the recommender from" in captured.out and "168 products" in captured.out
    assert "Building the recommender" in captured.err  # the progress bar


def test_train_saves_the_segments_it_used_and_the_report_summary_shows_them(trained, capsys):
    model_dir, _, _ = trained
    saved = json.loads((model_dir / "segments.json").read_text())
    assert saved["k"] >= 2 and saved["as_of"].startswith(DAY)
    model = recommend.load_model(model_dir)
    # Each segment that bought lately has its popularity (a lapsed one may have none).
    assert model.customer_segments and set(model.segment_trend) <= {s["segment"] for s in saved["segments"]}
    assert 1 in model.segment_trend
    assert main(["report", "summary"]) == 0
    out = capsys.readouterr().out
    assert f"Segments:          {saved['k']} (RFM k-means as of {DAY}): 1: " in out
    assert saved["segments"][0]["profile"] in out


def _tastes(url: str, customer_id: int) -> tuple[set[str], set[int]]:
    """The categories of at least a quarter of the customer's order lines, and the products they have."""
    with UnitOfWork(url) as uow:
        rows = uow.session.execute(
            select(models.Product.category, models.Product.id)
            .join(models.OrderLine, models.OrderLine.product_id == models.Product.id)
            .join(models.Order, models.Order.id == models.OrderLine.order_id)
            .where(models.Order.customer_id == customer_id)).all()
    counts = Counter(c for c, _ in rows)
    return {c for c, n in counts.items() if n >= len(rows) / 4}, {pid for _, pid in rows}


def _regulars(url: str) -> list[int]:
    """Customers (not the demo personas) with at least five order lines."""
    found = [c for c in range(4, 80) if len(_tastes(url, c)[1]) >= 5]
    return found[:30]


def test_a_customer_with_a_clear_taste_gets_it_with_reasons_and_nothing_they_own(trained):
    model_dir, url, _ = trained
    regulars = _regulars(url)
    assert len(regulars) == 30
    for customer_id in regulars:
        _, owned = _tastes(url, customer_id)
        picks = recommend.recommend_for_customer(customer_id, UnitOfWork(url), model_dir, k=5, now=AS_OF)
        assert len(picks) == 5 and all(p.reason_text for p in picks)
        with UnitOfWork(url) as uow:
            ids = set(uow.session.execute(select(models.Product.id).where(
                models.Product.sku.in_([p.sku for p in picks]))).scalars())
        assert not ids & owned
        assert all(p.stock > 0 for p in picks)
    # Over those customers, the first pick is mostly from one of their tastes, "because you bought".
    hits = 0
    for customer_id in regulars:
        tastes, _ = _tastes(url, customer_id)
        first = recommend.recommend_for_customer(customer_id, UnitOfWork(url), model_dir, k=1, now=AS_OF)[0]
        hits += first.category in tastes and first.reason_kind == "bought"
    assert hits >= 22


def test_a_guest_gets_popular_products_and_an_empty_shelf_is_never_offered(trained):
    model_dir, url, _ = trained
    picks = recommend.recommend_for_customer(None, UnitOfWork(url), model_dir, k=6, now=AS_OF)
    assert len({p.category for p in picks}) >= 4 and {p.reason_kind for p in picks} == {"popular"}
    with UnitOfWork(url) as uow:
        uow.session.execute(update(models.Product).where(models.Product.sku == picks[0].sku).values(stock=0))
        uow.commit()
    again = recommend.recommend_for_customer(None, UnitOfWork(url), model_dir, k=6, now=AS_OF)
    assert picks[0].sku not in {p.sku for p in again}


def test_the_catalogue_cache_never_hides_a_restock_nor_offers_an_empty_shelf(trained):
    model_dir, url, _ = trained
    top = recommend.recommend_for_customer(None, UnitOfWork(url), model_dir, k=1, now=AS_OF)[0]

    def set_stock(stock: int) -> None:
        with UnitOfWork(url) as uow:
            uow.session.execute(update(models.Product).where(models.Product.sku == top.sku).values(stock=stock))
            uow.commit()

    recommend._catalogue_cache.clear()
    set_stock(0)  # the cache is filled while the shelf is empty ...
    assert top.sku not in {p.sku for p in recommend.recommend_for_customer(None, UnitOfWork(url), model_dir, k=6,
                                                                           now=AS_OF)}
    set_stock(7)  # ... and the restock shows at once, with the stock as it is now
    again = recommend.recommend_for_customer(None, UnitOfWork(url), model_dir, k=1, now=AS_OF)[0]
    assert (again.sku, again.stock) == (top.sku, 7)
    set_stock(top.stock)


def test_a_purchase_made_after_training_is_not_suggested_again(trained):
    model_dir, url, _ = trained
    first = recommend.recommend_for_customer(10, UnitOfWork(url), model_dir, k=1, now=AS_OF)[0]
    with UnitOfWork(url) as uow:
        order = uow.session.execute(select(models.Order).where(models.Order.customer_id == 10)).scalars().first()
        product_id = uow.session.execute(select(models.Product.id).where(models.Product.sku == first.sku)).scalar()
        uow.session.add(models.OrderLine(order_id=order.id, product_id=product_id, quantity=1,
                                         unit_price_cents=first.price_cents))
        uow.commit()
    again = recommend.recommend_for_customer(10, UnitOfWork(url), model_dir, k=5, now=AS_OF + timedelta(hours=1))
    assert first.sku not in {p.sku for p in again}


def test_more_like_this(trained):
    model_dir, url, _ = trained
    similar = recommend.similar_to("HK-0001", None, UnitOfWork(url), model_dir, k=3)
    assert len(similar) == 3 and "HK-0001" not in {p.sku for p in similar}
    assert similar[0].reason_kind == "similar" and similar[0].reason_text.startswith("similar to ")


def test_serving_without_a_trained_model_says_how_to_train(tmp_path, shop):
    _, url = shop
    with pytest.raises(FileNotFoundError, match="caredesk recommend train"):
        recommend.recommend_for_customer(1, UnitOfWork(url), tmp_path, k=3)


def test_segments_print_each_segment_size_and_profile(settings_for, capsys):
    assert main(["segments", "--as-of", DAY]) == 0
    out = capsys.readouterr().out
    assert "k chosen by the highest mean silhouette" in out and "profile" in out
    assert main(["segments", "--as-of", DAY, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sum(s["customers"] for s in report["segments"]) > 250 and report["k"] == len(report["segments"])


# ------------------------------------------------------------------------------ evaluate on a CSV


def _interactions_csv(tmp_path: Path, n_users: int = 200) -> str:
    """Users with one of four tastes, buying from it over time."""
    rng = np.random.default_rng(2)
    rows = []
    start = pd.Timestamp("2026-01-01")
    for user in range(n_users):
        taste = user % 4
        for _ in range(8):
            item = f"P{taste}{int(rng.integers(0, 10))}" if rng.random() < 0.85 else f"P{int(rng.integers(0, 40)):02d}"
            rows.append((f"u{user}", item, start + pd.Timedelta(days=int(rng.integers(0, 120)))))
    path = tmp_path / "events.csv"
    pd.DataFrame(rows, columns=["user", "sku", "when"]).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("split", ["time", "random"])
def test_evaluate_prints_our_model_and_the_baselines_measured_the_same_way(tmp_path, capsys, split):
    args = ["recommend", "evaluate", "--interactions", _interactions_csv(tmp_path), "--user-col", "user",
            "--item-col", "sku", "--split", split, "--seed", "3", "--k", "5"]
    if split == "time":
        args += ["--time-col", "when"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["models"]) == {"ours", "popularity", "item_knn"}
    for figures in report["models"].values():
        assert set(figures) == {"precision@5", "recall@5", "ndcg@5", "coverage"}
    assert report["models"]["ours"]["precision@5"] > report["models"]["popularity"]["precision@5"]
    assert report["tuning_trials"] and report["tuned_on"].startswith("validation")


@pytest.mark.parametrize(("content", "extra", "message"), [
    ("user,item\n1,2\n", ["--split", "random"], "no column 'sku'; the file has: user, item"),
    (b"user,sku\n\xff,1\n", ["--split", "random"], "not UTF-8"),
    ("", ["--split", "random"], "empty"),
    ("user,sku\n1,2\n", ["--split", "time"], "needs a time column"),
    ("user,sku,when\n1,2,2026-01-01\n", ["--split", "time", "--time-col", "when"], "nothing to train on"),
])
def test_evaluate_refuses_bad_files_clearly(tmp_path, capsys, content, extra, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    args = ["recommend", "evaluate", "--interactions", str(path), "--user-col", "user", "--item-col", "sku", *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"Cannot evaluate {path}: " in err and message in err


def test_evaluate_a_missing_file(tmp_path, capsys):
    assert main(["recommend", "evaluate", "--interactions", str(tmp_path / "nope.csv"), "--user-col", "u",
                 "--item-col", "i"]) == 2
    assert "Cannot evaluate" in capsys.readouterr().err
