"""leaklens: a forensic workbench for hack-and-leak dumps."""

__version__ = "0.1.0"
