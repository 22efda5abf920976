"""Thin wrappers over the Linux kernel for the agents: netlink, namespaces, nftables, processes."""
