"""Object storage (Swift-compatible API v1 and S3): rings, proxy, storage servers, daemons.

Being built in slices (issue 14): rings and the storage servers first; the proxy, the daemons
and the service spec that ``nubes up`` starts come after. Until then this package is not listed
in ``nubes.services``."""
