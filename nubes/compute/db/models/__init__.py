"""The compute service's tables, one module per family."""

from nubes.compute.db.models.base import Base
from nubes.compute.db.models.consoles import ConsoleAuthToken
from nubes.compute.db.models.flavors import Flavor, FlavorExtraSpec, FlavorProject, KeyPair
from nubes.compute.db.models.hosts import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    Migration,
    Service,
)
from nubes.compute.db.models.instances import (
    BlockDeviceMapping,
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    InstanceMetadata,
    InstanceTag,
)
from nubes.compute.db.models.projects import QuotaClass, QuotaLimit, QuotaLock, ServerGroup, ServerGroupMember

__all__ = [
    "Aggregate", "AggregateHost", "AggregateMetadata", "Base", "BlockDeviceMapping", "ComputeNode", "Flavor",
    "FlavorExtraSpec", "FlavorProject", "Instance", "InstanceAction", "InstanceActionEvent", "InstanceFault",
    "InstanceMetadata", "InstanceTag", "KeyPair", "Migration", "QuotaClass", "QuotaLimit", "QuotaLock",
    "Service", "ServerGroup", "ServerGroupMember",
    "ConsoleAuthToken",
]
