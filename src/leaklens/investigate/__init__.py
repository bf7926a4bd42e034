"""Shared reads of a case: what the workbench, the HTML report and the CLI show, as functions over
the store (`CaseStore`), never over a database.

- `items`: one item as every view shows it (the report's ITEM, its findings with their stage, the
  items its evidence names, its copies, its text);
- `figures`: the case's summary, the dashboard's figures, the items of a verdict, duplicate groups;
- `threads`: the one rule that links a reply to its parent, and the thread around an email;
- `correspondents`: who writes to whom; `timeline`: emails by day and verdict;
- `memo`: case-wide figures kept until the case changes.

web/ and report/ depend on this package, never on each other.
"""
