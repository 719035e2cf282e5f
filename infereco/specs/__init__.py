"""Validated specs (pydantic) and the catalog that loads them."""
