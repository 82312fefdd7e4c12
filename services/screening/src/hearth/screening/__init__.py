"""The screening service."""
