"""The unit name search, as a worker uses it on the join form: they pick their county, type a few characters of
their employer's name, and pick it from the first results."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from core import migrate
from core import settings as settings_module
from core.errors import InvalidInput
from core.models.tenant import Tenant
from core.models.unit import Unit
from core.registry import unit_search, units
from tests.core.test_units import City, staff, yichang  # noqa: F401  (fixtures)


def _search(city: City, text: str, region: str | None = None, limit: int = unit_search.LIMIT) -> list[str]:
    def run(session):
        where = city.region(region) if region else None
        return [hit.unit.name for hit in unit_search.search(session, text, region=where, limit=limit)]

    return city.run(run)


def _matches(city: City, text: str) -> list[tuple[str, str]]:
    return city.run(lambda s: [(hit.unit.name, hit.match) for hit in unit_search.search(s, text)])


@pytest.fixture
def city(yichang):
    for name, region in (
        ("宜昌某某物流有限公司", "小溪塔街道"),
        ("宜昌市夷陵区长江物流园有限公司", "龙泉镇"),
        ("西陵区物流配送中心", "学院街道"),
        ("物流", "小溪塔街道"),
        ("物流天下（宜昌）有限公司", "小溪塔街道"),
        ("宜昌示例软件有限公司", "学院街道"),
        ("夷陵区某某建材有限公司", "龙泉镇"),
        ("宜昌某物流昌物贸易有限公司", "龙泉镇"),
    ):
        yichang.unit(name, region=region)
    return yichang


def test_a_worker_typing_物流_finds_宜昌某某物流有限公司_among_the_first_results(city):
    assert "宜昌某某物流有限公司" in _search(city, "物流")[:5]


def test_a_two_character_query_finds_names_on_sqlite_too(city):
    # FTS5's trigram tokenizer would find nothing for two characters; the bigram index must.
    assert sorted(_search(city, "建材")) == ["夷陵区某某建材有限公司"]
    assert sorted(_search(city, "软件")) == ["宜昌示例软件有限公司"]


def test_a_unit_search_in_夷陵区_does_not_return_units_of_西陵区(city):
    in_yiling = _search(city, "物流", region="夷陵区")

    assert "西陵区物流配送中心" not in in_yiling
    assert {"宜昌某某物流有限公司", "宜昌市夷陵区长江物流园有限公司"} <= set(in_yiling)
    assert _search(city, "物流", region="学院街道") == ["西陵区物流配送中心"]


def test_the_exact_name_comes_first_then_names_that_start_with_it_then_the_rest(city):
    found = _matches(city, "物流")

    assert found[0] == ("物流", "exact")
    assert found[1] == ("物流天下（宜昌）有限公司", "prefix")
    assert {match for _name, match in found[2:]} == {"contains"}
    rest = [name for name, _match in found[2:]]
    assert rest.index("西陵区物流配送中心") < rest.index("宜昌市夷陵区长江物流园有限公司"), "an earlier match ranks higher"


def test_three_or_four_characters_must_stand_together_in_the_name(city):
    assert _search(city, "昌某某物") == ["宜昌某某物流有限公司"]
    # 宜昌某物流昌物贸易 holds the pieces 宜昌 and 昌物, but not 宜昌物 itself.
    assert _search(city, "宜昌物") == []
    assert _search(city, "长江物流园") == ["宜昌市夷陵区长江物流园有限公司"]


def test_brackets_spaces_and_full_width_letters_do_not_get_in_the_way(city):
    city.unit("宜昌ＡＢＣ科技有限公司")

    assert _search(city, "天下宜昌") == ["物流天下（宜昌）有限公司"]
    assert _search(city, "abc科技") == ["宜昌ＡＢＣ科技有限公司"]
    assert _search(city, " 物 流 园 ") == ["宜昌市夷陵区长江物流园有限公司"]


def test_quotes_percent_signs_and_sql_typed_into_the_box_are_only_text(city):
    # The search writes the typed words into its SQL (so the planner sees them): only letters and digits get there.
    assert _search(city, "物流'%_\\") == _search(city, "物流")
    assert _search(city, "物流'); DROP TABLE unit; --", region="夷陵区") == []
    assert _search(city, "'物流' OR 1=1", region="学院街道") == []


def test_at_most_twenty_names_come_back(city):
    for n in range(25):
        city.unit(f"宜昌第{n}号仓储有限公司")

    assert len(_search(city, "仓储")) == 20
    assert len(_search(city, "仓储", limit=5)) == 5


def test_a_one_character_query_is_refused_naming_q(city):
    with pytest.raises(InvalidInput) as refused:
        _search(city, "物")
    assert list(refused.value.errors) == ["q"]
    with pytest.raises(InvalidInput):
        _search(city, "（）")


def test_a_renamed_unit_is_found_by_its_new_name_only(city):
    unit_id = city.run(lambda s: s.scalar(sa.select(Unit.id).where(Unit.name == "夷陵区某某建材有限公司")))

    city.run(lambda s: units.update(s, s.get(Unit, unit_id), {"name": "夷陵区某某水泥有限公司"}))

    assert _search(city, "建材") == []
    assert _search(city, "水泥") == ["夷陵区某某水泥有限公司"]


def test_units_inserted_in_bulk_without_the_orm_are_searchable(city):
    def insert(session):
        session.execute(sa.insert(Unit), [{"name": "宜昌某某批量导入有限公司", "tenant_id": city.tenant.id}])

    city.run(insert)

    assert _search(city, "批量导入") == ["宜昌某某批量导入有限公司"]


def test_a_common_word_still_puts_exact_and_prefix_matches_first_past_the_candidate_window(city, monkeypatch):
    for n in range(12):
        city.unit(f"宜昌某某第{n}物流有限公司")
    monkeypatch.setattr(unit_search, "CANDIDATES", 3)

    found = _matches(city, "物流")

    assert found[:2] == [("物流", "exact"), ("物流天下（宜昌）有限公司", "prefix")]
    assert len(found) >= 5, "the window still fills the page with some of the rest"


def test_a_unit_of_another_tenant_is_never_found(city, make_tenant):
    changzhou = City(make_tenant("changzhou", name="常州市总工会"), city.db)
    changzhou.unit("常州某某物流有限公司", region=None)

    assert "常州某某物流有限公司" not in _search(city, "物流")
    assert _search(changzhou, "物流") == ["常州某某物流有限公司"]


def test_the_plain_like_scan_answers_the_same_question_in_the_same_order(city):
    indexed = _matches(city, "物流")
    scanned = city.run(lambda s: [(hit.unit.name, hit.match) for hit in unit_search.like_search(s, "物流")])

    assert scanned == indexed


def test_any_signed_in_user_of_the_tenant_may_search_and_sees_where_the_unit_is(city, make_user, api):
    _user, token = make_user(city.tenant, roles=["member"])
    worker = api(city.tenant, token)
    city.unit("宜昌示例快递有限公司", region="小溪塔街道", union="宜昌示例物流有限公司工会委员会", credit_code=None)

    found = worker.get("/api/v1/units/search", query_string={"q": "快递", "region": city.region("夷陵区").id})

    assert found.status_code == 200
    assert found.json[0]["name"] == "宜昌示例快递有限公司"
    assert (found.json[0]["region_name"], found.json[0]["organization_name"], found.json[0]["has_union"]) == (
        "小溪塔街道", "宜昌示例物流有限公司工会委员会", True)
    assert found.json[0]["match"] == "contains"
    assert api(city.tenant).get("/api/v1/units/search", query_string={"q": "快递"}).status_code == 401
    short = worker.get("/api/v1/units/search", query_string={"q": "快"})
    assert short.status_code == 422 and list(short.json["errors"]) == ["query.q"]


def test_once_postgresql_knows_a_word_is_common_the_search_reads_the_table_and_answers_the_same(city, db):
    if city.run(lambda s: s.get_bind().dialect.name) != "postgresql":
        pytest.skip("the statistics are PostgreSQL's")
    names = [f"宜昌第{n}物流有限公司" if n % 3 == 0 else f"夷陵区第{n}号商店" for n in range(450)]
    xiaoxita = city.region("小溪塔街道")
    city.run(lambda s: s.execute(sa.insert(Unit), [
        {"name": name, "tenant_id": city.tenant.id, "region_id": xiaoxita.id} for name in names]))
    with db() as session:
        session.execute(sa.text("ANALYZE unit"))
    unit_search._statistics.clear()

    def both(text, region=None):
        where = city.region(region) if region else None
        return city.run(lambda s: (
            [(h.unit.name, h.match) for h in unit_search.search(s, text, region=where)],
            [(h.unit.name, h.match) for h in unit_search.like_search(s, text, region=where)],
        ))

    try:
        for text, region in (("物流", None), ("物流有限", None), ("夷陵区第", "小溪塔街道"), ("第3", None), ("物流", "夷陵区")):
            indexed, scanned = both(text, region)
            assert indexed == scanned, (text, region)
        # A third of the names hold 物流: a page of 20 is read from the table sooner than from the index.
        keys = city.run(lambda s: unit_search._index_keys(s, ["物流"], unit_search._Scope(), unit_search.LIMIT))
        assert keys == [], "物流 is common here"
    finally:
        unit_search._statistics.clear()


def test_the_search_index_is_built_by_the_migrations_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    settings = settings_module.load({}, data_dir=tmp_path, database_url=url, secret_key="test-secret-key-" + "x" * 32)
    migrate.upgrade(settings, plugins=[])
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(Tenant.__table__), {"slug": "yichang", "name": "宜昌市总工会"})
            connection.execute(sa.insert(Unit.__table__), {"name": "宜昌某某物流有限公司", "tenant_id": 1})
            found = connection.exec_driver_sql(
                "SELECT rowid FROM unit_name_fts WHERE unit_name_fts MATCH '\"物流\"'").scalars().all()
        assert found == [1]
        # The unit table must match its model exactly. (That the FTS5 tables are left out of the comparison, and
        # that other registries' tables have their revisions, is for tests/core/test_migrations.py to say.)
        about_units = [d for d in map(migrate.describe, migrate.drift(settings, plugins=[]))
                       if d.split()[1] == "unit" or d.split()[1].startswith(("ix_unit_", "uq_unit_"))]
        assert about_units == []
    finally:
        engine.dispose()
