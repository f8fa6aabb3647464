"""Told, not polling: FHIR topic-based subscriptions for apps, and access alerts for citizens."""
