"""Entities: who and what a text names (accounts, phones, amounts, people, companies), with positions.

Every mention is tied to where it occurs: the item, the text source (body, attachment, document,
OCR) and the character offsets, so a reader can check it against the text. Each kind is one
declaration in `kinds.KINDS`; a finder proposes candidates with a cheap pattern and keeps only
those that pass the kind's own validation (check digits, numbering plans, calendars), since a
pattern alone over-generates (Aleph's phone pattern: 16 candidates per real number).
"""

from . import finders  # noqa: F401 - the declarations, so that KINDS is whole whatever is imported first
from .kinds import KINDS, Context, Mention, find_mentions, snippet

__all__ = ["KINDS", "Context", "Mention", "find_mentions", "snippet"]
