"""Suite-wide settings."""

import os

# Every finding any test makes (in this process, in worker pools and in the CLI it runs) must use a
# code declared in leaklens/codes.py: an undeclared one raises (model.Finding).
os.environ["LEAKLENS_STRICT_CODES"] = "1"
