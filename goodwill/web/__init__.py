"""The web interface (FastAPI, server-rendered pages, no CDN: every asset is served from here)."""
