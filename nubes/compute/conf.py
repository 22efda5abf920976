"""The compute service's configuration section: API, scheduler, agents, drivers and quotas."""

from __future__ import annotations

from dataclasses import dataclass, field

from nubes.core.config import ServiceConfig


@dataclass
class ComputeConfig(ServiceConfig):
    port: int = 8774
    # The compute background work `nubes up` and `nubes serve compute` run beside the API: the
    # conductor (it needs the database) and this process's compute agents. A controller of
    # many nodes sets run_agents = false and its compute nodes run `nubes agent compute`.
    run_conductor: bool = True
    run_agents: bool = True
    # Compute agents this process runs: "fake" hosts for the all-in-one and scale tests.
    driver: str = "auto"          # "auto": qemu as root with QEMU installed, else fake (drivers.registry.choose)
    fake_hosts: int = 1
    host: str = ""                               # "" = this machine's hostname
    # What one fake host offers (a hypervisor of this size).
    fake_vcpus: int = 16
    fake_memory_mb: int = 32768
    fake_disk_gb: int = 1000
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    reserved_host_disk_mb: int = 0
    default_availability_zone: str = "nova"
    # Scheduler.
    max_attempts: int = 3                        # builds tried on alternate hosts before ERROR
    max_placement_results: int = 1000
    host_subset_size: int = 1
    weigh: str = "spread"                        # "spread" (emptiest host) or "pack"
    # Agents.
    report_interval: float = 10.0                # seconds between heartbeats
    service_down_time: float = 60.0              # seconds without a heartbeat = down
    sync_power_state_interval: float = 60.0
    reclaim_instance_interval: float = 0.0
    build_timeout: float = 600.0                 # a build not done in this time goes to ERROR
    rpc_timeout: float = 60.0
    # Boot from volume: how often, and how far apart at most, the conductor looks at a volume the
    # build made before it gives up on it (Nova's two options of these names)
    block_device_allocate_retries: int = 60
    block_device_allocate_retries_interval: float = 3.0
    # Recovery (docs/architecture.md, "What survives a crash"): every recovery_interval seconds
    # the conductor re-drives the work the database says was accepted and not finished, and each
    # agent its own, once that work has not changed for recovery_lease seconds (whoever owns it
    # changes it as it goes); what a restart left behind is re-driven at once.
    recovery_interval: float = 30.0
    recovery_lease: float = 120.0
    # Server actions and moves (Nova's options of the same names).
    allow_resize_to_same_host: bool = False     # resize may stay on the host (cold migrations never)
    shelved_offload_time: int = 0               # seconds a shelved server keeps its host; 0 now, -1 never
    # The metadata API (Nova's, what instances read through the network's metadata proxy): its
    # port (0: not served), the secret the proxy signs instance ids with (empty: the state
    # directory's generated metadata_secret) and how long an instance's answers are kept.
    metadata_port: int = 8775
    metadata_proxy_shared_secret: str = ""
    metadata_cache_expiration: float = 15.0
    # Remote consoles (Nova's [vnc], [serial_console] and [consoleauth]): the noVNC proxy and the
    # serial proxy, two more listeners of the compute service (0 turns one off); the base of the URLs
    # handed out (empty: http://<public_host>:<novncproxy_port>/vnc_auto.html and
    # ws://<public_host>:<serialproxy_port>/); how long a console token lives; where noVNC's files are
    # (Debian's novnc package); the Origins a browser may open a console from besides the proxy's own.
    novncproxy_port: int = 6080
    serialproxy_port: int = 6083
    novncproxy_base_url: str = ""
    serialproxy_base_url: str = ""
    console_token_ttl: int = 600
    novnc_web: str = "/usr/share/novnc"
    console_allowed_origins: list[str] = field(default_factory=list)
    # On a compute host: the address guests' consoles listen on, and the one the proxies reach them
    # at (empty: the listen address; set both for a proxy on another machine).
    console_listen: str = "127.0.0.1"
    console_proxyclient_address: str = ""
    # API.
    max_limit: int = 1000
    osapi_max_limit: int = 1000
    # Default quotas (Nova's), -1 = unlimited.
    quota_instances: int = 10
    quota_cores: int = 20
    quota_ram: int = 51200
    quota_metadata_items: int = 128
    quota_key_pairs: int = 100
    quota_server_groups: int = 10
    quota_server_group_members: int = 10
    quota_injected_files: int = 5
    quota_injected_file_content_bytes: int = 10240
    quota_injected_file_path_length: int = 255
    enabled_filters: list[str] = field(default_factory=lambda: [
        "ComputeFilter", "AvailabilityZoneFilter", "ImagePropertiesFilter",
        "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter", "AggregateInstanceExtraSpecsFilter"])
