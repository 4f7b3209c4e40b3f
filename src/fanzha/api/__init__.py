"""The real-time decision service and party API (FastAPI): ``fanzha serve``. See docs/api.md."""
