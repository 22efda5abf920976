"""THE route table of object storage: the proxy's (``nubes.object.proxy.routes``), found here
as every service's is (``nubes.<service>.api.routes``)."""

from nubes.object.proxy.routes import routes

__all__ = ["routes"]
