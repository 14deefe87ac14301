"""The openEO API 1.2 over HTTP (FastAPI): translates requests into Backend calls and back."""
