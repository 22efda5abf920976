"""Object storage's HTTP layer is the proxy (``nubes.object.proxy``); ``routes`` names its table
where every service's is found."""
