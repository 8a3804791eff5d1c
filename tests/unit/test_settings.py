import pytest

from common.settings import SettingsError, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("CAREDESK_ENV", "DATABASE_URL", "CAREDESK_SECRET_KEY", "RASA_API_TOKEN", "RASA_PORT",
                 "CAREDESK_PREVIOUS_SECRET_KEYS", "REST_API_KEYS", "CAREDESK_DEMO_LOGIN",
                 "AGENT_API_TOKEN", "ACTION_SERVER_TOKEN", "REDIS_URL", "RABBITMQ_URL", "TRACKER_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    return monkeypatch


def test_local_defaults_need_nothing_set(clean_env, tmp_path):
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'crm.db'}"
    assert settings.rasa_port == 5005 and settings.host == "127.0.0.1"
    assert len(settings.rasa_api_token) >= 24
    assert load_settings().rasa_api_token == settings.rasa_api_token  # kept under var/


def test_production_refuses_a_missing_secret(clean_env):
    clean_env.setenv("CAREDESK_ENV", "production")
    clean_env.setenv("DATABASE_URL", "postgresql://u@db/crm")
    clean_env.setenv("RASA_API_TOKEN", "t" * 30)
    with pytest.raises(SettingsError, match="CAREDESK_SECRET_KEY"):
        load_settings()


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_the_once_published_development_secret_works_nowhere(clean_env, environment):
    clean_env.setenv("CAREDESK_ENV", environment)
    clean_env.setenv("CAREDESK_SECRET_KEY", "dev-only-insecure-secret")
    with pytest.raises(SettingsError, match="published"):
        load_settings()


def test_development_signs_with_a_random_key_kept_under_var(clean_env, tmp_path):
    first = load_settings()
    assert len(first.secret_key) >= 48 and first.secret_key != "dev-only-insecure-secret"
    assert load_settings().secret_key == first.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_short_secret_is_refused(clean_env):
    clean_env.setenv("CAREDESK_SECRET_KEY", "short")
    with pytest.raises(SettingsError, match="32"):
        load_settings()


def test_production_refuses_the_demo_login(clean_env):
    clean_env.setenv("CAREDESK_ENV", "production")
    clean_env.setenv("CAREDESK_SECRET_KEY", "s" * 40)
    clean_env.setenv("RASA_API_TOKEN", "t" * 30)
    clean_env.setenv("DATABASE_URL", "postgresql://u@db/crm")
    clean_env.setenv("CAREDESK_DEMO_LOGIN", "1")
    with pytest.raises(SettingsError, match="DEMO_LOGIN"):
        load_settings()


def test_production_refuses_sqlite(clean_env):
    clean_env.setenv("CAREDESK_ENV", "production")
    clean_env.setenv("CAREDESK_SECRET_KEY", "s" * 40)
    clean_env.setenv("RASA_API_TOKEN", "t" * 30)
    with pytest.raises(SettingsError, match="PostgreSQL"):
        load_settings()


def test_production_with_real_secrets_starts(clean_env):
    clean_env.setenv("CAREDESK_ENV", "production")
    clean_env.setenv("CAREDESK_SECRET_KEY", "s" * 40)
    clean_env.setenv("RASA_API_TOKEN", "t" * 30)
    clean_env.setenv("DATABASE_URL", "postgresql://u@db/crm")
    clean_env.setenv("ACTION_SERVER_TOKEN", "x" * 30)
    assert load_settings().is_production


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_bad_port_is_a_clear_error(clean_env, port):
    clean_env.setenv("RASA_PORT", port)
    with pytest.raises(SettingsError, match="RASA_PORT"):
        load_settings()


def test_an_unknown_environment_is_refused(clean_env):
    clean_env.setenv("CAREDESK_ENV", "staging")
    with pytest.raises(SettingsError, match="CAREDESK_ENV"):
        load_settings()


def test_there_is_no_shared_agent_token_any_more(clean_env, tmp_path):
    # Each agent has a personal token (caredesk users); a shared one is neither read nor made.
    clean_env.setenv("AGENT_API_TOKEN", "a" * 30)
    settings = load_settings()
    assert not hasattr(settings, "agent_api_token")
    assert "a" * 30 not in repr(settings) and not (tmp_path / "agent_api_token").exists()
