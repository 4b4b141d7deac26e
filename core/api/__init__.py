"""The REST API: conventions (``base``, ``pagination``, ``etag``) and core resources."""
