"""Imports every module that declares an entity kind (the order of KINDS is the order here)."""

from . import banking, dates, money, names, phones, web  # noqa: F401
