"""Boot from volume without services: the block device checks of a create-server request
(Nova's 400s, the boot sequence, device names) and the conductor's wait for a new volume."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx
import pytest

from nubes.compute import exceptions as exc
from nubes.compute.conductor import build_volumes
from nubes.compute.service.server_inputs import block_devices
from nubes.compute.service.server_requests import BlockDevice, CreateRequest

FLAVOR = {"swap": 0, "ephemeral_gb": 0, "root_gb": 0, "memory_mb": 512}
IMG = "0f5a8a3e-4a7d-4a36-9d4e-6c1f6b8d2a11"
VOL = "6b8e0d6e-1a0b-4c4e-8f55-0e7c2f3f9a22"


def req(*bds: BlockDevice, image_ref: str = "") -> CreateRequest:
    return CreateRequest(name="s", flavor_ref="1", image_ref=image_ref, block_devices=list(bds))


def test_a_volume_root_makes_the_server_volume_backed_with_its_root_on_vda():
    disks = block_devices(req(BlockDevice("volume", "volume", boot_index=0, uuid=VOL),
                              BlockDevice("blank", "volume", boot_index=-1, volume_size=2)), FLAVOR)
    assert disks.image_id == "" and disks.volume_backed
    assert [(d.source_type, d.device_name) for d in disks.devices] == [("volume", "/dev/vda"), ("blank", "/dev/vdb")]


def test_data_volumes_of_an_image_backed_server_come_after_its_local_root():
    disks = block_devices(req(BlockDevice("volume", "volume", boot_index=1, uuid=VOL, device_name="vdc"),
                              image_ref=IMG), FLAVOR)
    assert disks.image_id == IMG and not disks.volume_backed
    assert [(d.source_type, d.destination_type, d.device_name) for d in disks.devices] == [
        ("image", "local", "/dev/vda"), ("volume", "volume", "/dev/vdc")]


@pytest.mark.parametrize("bds, message", [
    ([BlockDevice("image", "volume", boot_index=0, uuid=IMG)], "need to have a non-zero size specified"),
    ([BlockDevice("blank", "volume", boot_index=0, volume_size=1)], "cannot have boot_index 0"),
    ([BlockDevice("blank", "volume", volume_size=None)], "need to have non-zero size"),
    ([BlockDevice("snapshot", "volume", boot_index=0)], "Missing device UUID."),
    ([BlockDevice("volume", "volume", boot_index=1, uuid=VOL)], "Boot sequence"),
    ([BlockDevice("volume", "volume", boot_index=0, uuid=VOL, volume_type="fast")],
     "Specifying volume type to existing volume is not supported."),
    ([BlockDevice("volume", "volume", boot_index=0, uuid=VOL, device_name="/dev/vdb"),
      BlockDevice("blank", "volume", volume_size=1, device_name="/dev/vdb")], "(/dev/vdb) is in use"),
])
def test_bad_volume_mappings_are_400(bds, message):
    with pytest.raises(exc.BadRequest) as e:
        block_devices(req(*bds), FLAVOR)
    assert message in e.value.message


def _conductor(statuses: list[str], monkeypatch) -> SimpleNamespace:
    seen = iter(statuses)

    async def answer(clients, method, path, **kw):
        return httpx.Response(200, json={"volume": {"id": VOL, "status": next(seen)}})

    monkeypatch.setattr(build_volumes, "volume_request", answer)
    return SimpleNamespace(clients=None, conf=SimpleNamespace(block_device_allocate_retries=3,
                                                               block_device_allocate_retries_interval=0.0))


def test_the_conductor_waits_for_a_new_volume(monkeypatch):
    asyncio.run(build_volumes._wait(_conductor(["creating", "downloading", "available"], monkeypatch), VOL))


@pytest.mark.parametrize("statuses, status", [(["creating", "error"], "error"),
                                              (["creating", "creating", "creating"], "creating")])
def test_a_volume_in_error_or_not_ready_in_time_fails_the_build(monkeypatch, statuses, status):
    with pytest.raises(build_volumes.VolumeNotReady) as e:
        asyncio.run(build_volumes._wait(_conductor(statuses, monkeypatch), VOL))
    assert e.value.message.startswith(f"Volume {VOL} did not finish being created even after we waited")
    assert e.value.message.endswith(f"And its status is {status}.")
