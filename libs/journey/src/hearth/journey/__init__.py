"""The whole care journey across the four services."""
