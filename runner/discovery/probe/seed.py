"""A user in the throwaway database, for an API that wants a login but offers no open sign-up.

    <target python> -m api_mcp_test_probe.seed --framework django|sqlalchemy [--root DIR]
        [--app module:attr] --user user.json --out result.json

Runs in the app's own interpreter with the environment the app is served with (Django: the
runner's settings module, whose databases are throwaway sqlite files), so the user is made the
way the app makes its users: Django through the user model's manager (`create_superuser`, else
`create_user`, else `set_password`), SQLAlchemy in `sqlalchemy_user` (see there). The result
names the values the user logs in with and, for Django, credentials minted for that user
(DRF token, simplejwt, knox, a session cookie) for an API without a usable login operation.

Standard library only, plus the app's framework. Python 3.7+. Never raises: a failure is
written as {"ok": false, "error": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from .common import error_line


def main(argv=None):
    parser = argparse.ArgumentParser(description="Create a user in the throwaway database.")
    parser.add_argument("--framework", required=True)
    parser.add_argument("--root", default=os.getcwd())
    parser.add_argument("--app", default=None)
    parser.add_argument("--user", required=True, help="JSON {username, email, password}")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.user, encoding="utf-8") as handle:
        user = json.load(handle)
    try:
        if args.framework == "django":
            result = django_user(user)
        else:
            from .seed_sqlalchemy import sqlalchemy_user

            result = sqlalchemy_user(user, os.path.abspath(args.root), args.app)
    except Exception as exc:  # noqa: BLE001 - written as the result, never raised
        result = {"ok": False, "error": error_line(exc), "traceback": traceback.format_exc()[-3000:]}
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, default=str)
    return 0


# -- Django --------------------------------------------------------------------------------------

def django_user(user):
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    model = get_user_model()
    meta = model._meta
    name_field = model.USERNAME_FIELD
    email_field = getattr(model, "EMAIL_FIELD", "email")
    by_email = _is_email(meta.get_field(name_field), name_field)
    values = {name_field: user["email"] if by_email else user["username"]}
    for name in getattr(model, "REQUIRED_FIELDS", ()):
        field = meta.get_field(name)
        values[name] = user["email"] if name == email_field or _is_email(field, name) \
            else _django_value(field, user)
    if email_field not in values and any(f.name == email_field for f in meta.get_fields()):
        values[email_field] = user["email"]
    created, how = _django_create(model, values, user["password"])
    _verified_email(created, user["email"])
    label = meta.app_label + "." + meta.object_name
    return {
        "ok": True,
        "login_name": "email" if by_email else "username",
        "how": how + " on the user model " + label + " (" + name_field + " "
               + str(values[name_field]) + ")",
        "minted": _django_credentials(created),
    }


def _is_email(field, name):
    return "email" in name.lower() or type(field).__name__ == "EmailField"


def _django_value(field, user):
    """A value for a required field other than the login name and the email."""
    kind = field.get_internal_type()
    if field.is_relation:
        related = field.related_model._default_manager.first()
        if related is None:
            raise ValueError("the user model requires " + field.name + ", a link to a "
                             + field.related_model.__name__ + ", and there is none")
        return related
    if field.choices:
        return field.choices[0][0]
    if "Integer" in kind or kind in ("FloatField", "DecimalField"):
        return 1
    if kind == "BooleanField":
        return True
    if kind == "DateField":
        import datetime

        return datetime.date(1990, 1, 1)
    if kind == "DateTimeField":
        from django.utils import timezone

        return timezone.now()
    return (user["username"] + "-" + field.name)[: field.max_length or 64]


def _django_create(model, values, password):
    """The user made as the project's own manager makes one: a superuser where it can be (the
    operations for staff are tested too), else a plain user."""
    manager = model._default_manager
    for method in ("create_superuser", "create_user"):
        make = getattr(manager, method, None)
        if make is None:
            continue
        try:
            return make(password=password, **values), method
        except TypeError:  # a manager with another signature: the next way
            continue
    created = model(**values)
    created.set_password(password)
    for flag in ("is_staff", "is_superuser", "is_active"):
        if hasattr(created, flag):
            setattr(created, flag, True)
    created.save()
    return created, "set_password and save"


def _verified_email(created, email):
    """django-allauth refuses a login until the email is verified: it is, for this user."""
    from django.conf import settings

    if "allauth.account" not in getattr(settings, "INSTALLED_APPS", ()):
        return
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(user=created, email=email,
                                       defaults={"verified": True, "primary": True})


def _django_credentials(created):
    """[{headers, how}] for the user, in the order the project's REST settings list the
    authentication classes: a DRF token, a simplejwt access token, a knox token, a session."""
    from django.conf import settings

    installed = list(getattr(settings, "INSTALLED_APPS", ()))
    classes = " ".join(str(c) for c in (getattr(settings, "REST_FRAMEWORK", None) or {}).get(
        "DEFAULT_AUTHENTICATION_CLASSES", ()))
    found = []
    for rank, make in ((classes.find("JWT"), _simplejwt), (classes.find("knox"), _knox),
                       (classes.find("TokenAuthentication"), _drf_token),
                       (classes.find("Session"), _session)):
        try:
            minted = make(created, installed)
        except Exception:  # noqa: BLE001, S112 - a way this project does not have
            continue
        found.extend((rank if rank >= 0 else 10 ** 6, len(found), m) for m in minted)
    return [m for _, _, m in sorted(found)]


def _drf_token(created, installed):
    if "rest_framework.authtoken" not in installed:
        return []
    from rest_framework.authtoken.models import Token

    key = Token.objects.get_or_create(user=created)[0].key
    return [{"headers": {"Authorization": "Token " + key}, "how": "a DRF token"}]


def _simplejwt(created, installed):
    from rest_framework_simplejwt.tokens import RefreshToken

    access = str(RefreshToken.for_user(created).access_token)
    return [{"headers": {"Authorization": "Bearer " + access}, "how": "a simplejwt token"},
            {"headers": {"Authorization": "JWT " + access}, "how": "a simplejwt token"}]


def _knox(created, installed):
    if "knox" not in installed:
        return []
    from knox.models import AuthToken

    token = AuthToken.objects.create(created)[1]
    return [{"headers": {"Authorization": "Token " + token}, "how": "a knox token"},
            {"headers": {"Authorization": "Bearer " + token}, "how": "a knox token"}]


def _session(created, installed):
    if "django.contrib.sessions" not in installed:
        return []
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(created)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [{"cookies": {settings.SESSION_COOKIE_NAME: cookie}, "how": "a Django session"}]


if __name__ == "__main__":
    sys.exit(main())
