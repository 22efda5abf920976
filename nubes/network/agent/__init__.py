"""The network service's Linux data plane: per-host agents that make the API's state real.

``runner`` starts them; ``l2`` (bridges, VXLAN, VLANs, taps) with ``firewall`` (security groups
in nftables), ``dhcp`` (dnsmasq per network), ``l3`` (router namespaces, NAT) and
``metadata_proxy``; ``linux/`` wraps the kernel (netlink through pyroute2, ``nft``, processes).
"""
