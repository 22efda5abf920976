"""The compute service's configuration section: API, scheduler, agents, drivers and quotas."""

from __future__ import annotations

from dataclasses import dataclass, field

from nubes.core.config import ServiceConfig


@dataclass
class ComputeConfig(ServiceConfig):
    port: int = 8774
    # Compute agents this process runs: "fake" hosts for the all-in-one and scale tests.
    driver: str = "fake"
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
    # Shared secret the metadata proxy signs instance ids with.
    metadata_proxy_shared_secret: str = ""
    enabled_filters: list[str] = field(default_factory=lambda: [
        "ComputeFilter", "AvailabilityZoneFilter", "ImagePropertiesFilter",
        "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter", "AggregateInstanceExtraSpecsFilter"])
