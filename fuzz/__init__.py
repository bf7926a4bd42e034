"""Fuzz harnesses for leaklens's parsers (issue 15): fuzz/harnesses.py, run by fuzz/run.py and bench/fuzz.py."""
