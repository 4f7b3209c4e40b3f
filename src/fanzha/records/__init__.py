"""Data contracts and normalisers for every party's records."""

from fanzha.records.contracts import KINDS, SPECS, FieldSpec, RecordSpec, get_spec, validate_row

__all__ = ["KINDS", "SPECS", "FieldSpec", "RecordSpec", "get_spec", "validate_row"]
