"""The object storage proxy: Swift's API v1 in front of the storage servers.

A stateless front end: it authenticates the caller (Keystone tokens, ``AUTH_<project_id>``
accounts), checks Swift's constraints, finds the nodes of a name in the rings and sends the
request to them in parallel, answering on a quorum (docs/object-storage-proxy.md)."""
