"""Email authenticity: DKIM and ARC with archived keys, header forensics, verdicts.

Entry point: `leaklens.verify.message.verify_message(raw, keys)`.
"""
