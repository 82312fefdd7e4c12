"""Event contracts of the at-home treatment workflow."""
