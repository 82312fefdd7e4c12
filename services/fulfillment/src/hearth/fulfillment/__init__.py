"""The fulfillment service."""
