"""The web application: aiohttp routes, typed process services, one call's session and
pipeline, the records API, and the process's runtime tuning and supervision."""
