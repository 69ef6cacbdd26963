"""The two JSON Schemas of chirality-framework.md (Draft 2020-12), verbatim."""
