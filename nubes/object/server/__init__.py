"""The storage servers: object, container and account, each a small ASGI app addressed by the
proxy as ``/<device>/<partition>/<account>[/<container>[/<object>]]`` (Swift's backend protocol;
see docs/object-storage-servers.md)."""
