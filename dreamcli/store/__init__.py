"""Where sessions are stored, behind one interface (docs/scaling.md).

`SessionStore` (base.py) has two backends that pass one conformance suite (tests/store/): the local
directory (local.py, the default, the on-disk layout of docs/session-log.md) and object storage through
fsspec (objects.py, `s3://…`), chosen by `sessions.url` in config.yaml (url.py). The SQLite session index
(index.py) makes listings cheap at millions of sessions. Heavy dependencies (fsspec, s3fs) are imported
only where an object store is used."""
