"""Exports out of the service's store (approved reviews as a gold set)."""
