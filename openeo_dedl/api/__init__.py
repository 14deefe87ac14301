"""The openEO API 1.2 and 1.3 over HTTP (FastAPI): translates requests into Backend calls and
back."""
