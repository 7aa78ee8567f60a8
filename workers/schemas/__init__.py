"""Versioned import schemas: one folder of JSON Schema files per kind of import
(`<kind>/v<N>.json`), read and checked by `workers.schemas.validation`."""
