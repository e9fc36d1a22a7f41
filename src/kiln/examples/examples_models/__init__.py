"""Whole-model classes that example blueprints name under `architecture.model`."""
