#!/bin/sh
# busybox udhcpc's script: apply the lease to the interface and record it in $LEASE_FILE.
case "$1" in
  deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    if [ -n "$staticroutes" ]; then
      set -- $staticroutes
      while [ $# -ge 2 ]; do
        ip route replace "$1" via "$2" dev "$interface" onlink 2>/dev/null || ip route replace "$1" dev "$interface"
        shift 2
      done
    elif [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi
    echo "ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu staticroutes=$staticroutes hostname=$hostname" > "$LEASE_FILE"
    ;;
esac
exit 0
