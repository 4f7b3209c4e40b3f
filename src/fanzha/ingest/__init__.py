"""Ingest: read partner files (CSV, Parquet, JSON Lines, gzip; UTF-8 or GBK/GB18030), validate every
row against its data contract, land good rows in the Parquet lake and keep every rejected row with its
reasons in the quarantine. See docs/ingest.md."""
