"""The application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from app import cli, errors, i18n, logs, models, requestlog, runtime, security  # noqa: F401 (models registers every table)
from app.admin.views import bp as admin_bp
from app.auth import password, two_factor
from app.auth.views import bp as auth_bp
from app.console import pages
from app.console.access import bp as access_bp
from app.console.bulk import bp as bulk_bp
from app.console.changes import bp as changes_bp
from app.console.communications import bp as communications_bp
from app.console.drafts import bp as drafts_bp
from app.console.notifications import bp as notifications_bp
from app.console.presence import bp as presence_bp
from app.console.saved_replies import bp as saved_replies_bp
from app.console.search import bp as search_bp
from app.console.sharing import bp as sharing_bp
from app.console.views import bp as console_bp
from app.contact.views import bp as contact_bp
from app.cookies.views import bp as cookies_bp
from app.customer.views import bp as customer_bp
from app.extensions import csrf, db, limiter, login_manager, migrate
from app.health.views import bp as health_bp
from app.ids import IdConverter
from app.manage.views import bp as manage_bp
from app.policy.views import bp as policy_bp
from config import Config, check_settings, config_from_environment

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(config: type[Config] | dict | None = None) -> Flask:
    """Build the application; ``config`` is a config class, or a dict of overrides for tests."""
    app = Flask(__name__, instance_path=None, template_folder="../templates")
    # Every <int:...> in a route is a row id: past what a database holds it names nothing (404).
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(config_from_environment() if not isinstance(config, type) else config)
    if isinstance(config, dict):
        app.config.update(config)
    check_settings(app.config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["UPLOAD_MAX_MB"] * 1024 * 1024
    logs.keep_tokens_out_of_logs()
    if app.config["TRUSTED_PROXIES"]:
        # The client's address and scheme as the trusted proxies saw them, for rate limits
        # and secure cookies. X-Forwarded-Host is not trusted: emailed links use PUBLIC_URL.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0)
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    _size_the_pool(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    requestlog.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    two_factor.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    pages.init_app(app)
    runtime.init_app(app)
    cli.init_app(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(two_factor.bp)
    app.register_blueprint(password.bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(access_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(sharing_bp)
    app.register_blueprint(customer_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(cookies_bp)
    app.register_blueprint(policy_bp)
    app.register_blueprint(communications_bp)
    app.register_blueprint(bulk_bp)
    app.register_blueprint(contact_bp)
    app.register_blueprint(drafts_bp)
    app.register_blueprint(presence_bp)
    app.register_blueprint(saved_replies_bp)
    app.register_blueprint(notifications_bp)
    return app


def _size_the_pool(config) -> None:
    # SQLite keeps SQLAlchemy's own pools (an in-memory database allows no other).
    if make_url(config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite":
        return
    size = config["DATABASE_POOL_SIZE"]
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": size, "max_overflow": size,
                                           **config["SQLALCHEMY_ENGINE_OPTIONS"]}
