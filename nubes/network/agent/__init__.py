"""The network service's Linux data plane: per-host agents that make the API's state real.

``runner`` starts them; ``l2`` (bridges, VXLAN, VLANs, taps) with ``firewall`` (security groups
in nftables), ``dhcp`` (dnsmasq per network), ``l3`` (router namespaces, NAT) and
``metadata_proxy``; ``linux/`` wraps the kernel (netlink through pyroute2, ``nft``, processes).
"""

try:
    import pyroute2.config as _pyroute2_config
except ImportError:           # the runner's preflight says the data plane cannot run, and why
    pass
else:
    # pyroute2 enters a namespace in a forked child and ends it with SIGTERM. A child keeping the
    # parent's handlers would pass that signal on through asyncio's wakeup fd, which it shares
    # with the parent: `nubes up` would take it for its own SIGTERM and stop. Default handlers
    # in the child keep the signal the child's.
    _pyroute2_config.disable_mp_signal = True
