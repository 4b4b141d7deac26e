"""Settings come from GONGHUI_* variables; a malformed one stops the start and names itself."""
import pytest

from core.db import Database
from core.settings import SettingsError, load


def test_the_embedded_default_is_a_sqlite_file_and_in_process_jobs(tmp_path):
    settings = load({}, data_dir=tmp_path)

    assert settings.database_url == f"sqlite:///{(tmp_path / 'gonghui.sqlite3').resolve()}"
    assert settings.embedded_jobs
    assert len(settings.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "only the owner may read the generated key"
    assert load({}, data_dir=tmp_path).secret_key == settings.secret_key, "the generated key is kept"


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("GONGHUI_PORT", "eighty", "GONGHUI_PORT: expected a whole number"),
        ("GONGHUI_PORT", "70000", "GONGHUI_PORT: expected a port"),
        ("GONGHUI_SECURE_COOKIES", "maybe", "GONGHUI_SECURE_COOKIES: expected true or false"),
        ("GONGHUI_DATABASE_URL", "mysql://x", "GONGHUI_DATABASE_URL"),
        ("GONGHUI_REDIS_URL", "localhost:6379", "GONGHUI_REDIS_URL"),
        ("GONGHUI_LOG_LEVEL", "LOUD", "GONGHUI_LOG_LEVEL"),
        ("GONGHUI_SECRET_KEY", "short", "GONGHUI_SECRET_KEY"),
    ],
)
def test_a_malformed_setting_stops_the_start_with_a_message_naming_it(tmp_path, name, value, message):
    with pytest.raises(SettingsError, match=message):
        load({name: value}, data_dir=tmp_path)


def test_a_postgresql_url_uses_the_psycopg_driver_and_redis_turns_on_the_real_broker(tmp_path):
    settings = load(
        {"GONGHUI_DATABASE_URL": "postgresql://postgres@127.0.0.1/gonghui", "GONGHUI_REDIS_URL": "redis://127.0.0.1"},
        data_dir=tmp_path,
    )

    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1/gonghui"
    assert not settings.embedded_jobs


def test_the_plugin_allow_list_is_a_comma_separated_list(tmp_path):
    assert load({"GONGHUI_PLUGINS": "yichang, sms_console"}, data_dir=tmp_path).plugins == ("yichang", "sms_console")


def test_each_process_keeps_as_many_database_connections_open_as_the_pool_size_says(tmp_path):
    settings = load({"GONGHUI_DATABASE_POOL_SIZE": "16"}, data_dir=tmp_path)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    assert settings.database_pool_size == 16 and database.engine.pool.size() == 16
    with pytest.raises(SettingsError, match="GONGHUI_DATABASE_POOL_SIZE"):
        load({"GONGHUI_DATABASE_POOL_SIZE": "many"}, data_dir=tmp_path)
