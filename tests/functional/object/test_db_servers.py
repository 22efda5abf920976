import xml.etree.ElementTree as ET

from nubes.object.server.account_server import AccountServer
from nubes.object.server.backend import read_async_pending
from tests.functional.object.conftest import SECRET, free_port

C = "/sda/3/AUTH_a/c"
A = "/sda/5/AUTH_a"
NAMES = ["a", "b/1", "b/2", "c", "d/x/y", "e"]


def ts(n: int) -> str:
    return f"{1700000000 + n}.00000"


async def _filled(containers):
    assert (await containers.put(C, headers={"X-Timestamp": ts(0)})).status_code == 201
    for i, name in enumerate(NAMES):
        r = await containers.put(f"{C}/{name}", headers={
            "X-Timestamp": ts(1 + i), "X-Size": str(i + 1), "X-Content-Type": "text/plain",
            "X-Etag": "e" * 32})
        assert r.status_code == 201


async def test_container_lifecycle_and_metadata(containers):
    assert (await containers.head(C)).status_code == 404
    await _filled(containers)
    assert (await containers.put(C, headers={"X-Timestamp": ts(10)})).status_code == 202
    r = await containers.head(C)
    assert r.status_code == 204
    assert r.headers["x-container-object-count"] == "6"
    assert r.headers["x-container-bytes-used"] == str(sum(range(1, 7)))
    # Metadata: the newest setting of each key wins; an empty value removes it.
    await containers.post(C, headers={"X-Timestamp": ts(20), "X-Container-Meta-Color": "red",
                                      "X-Container-Read": ".r:*"})
    await containers.post(C, headers={"X-Timestamp": ts(15), "X-Container-Meta-Color": "old"})
    r = await containers.head(C)
    assert r.headers["x-container-meta-color"] == "red" and r.headers["x-container-read"] == ".r:*"
    await containers.post(C, headers={"X-Timestamp": ts(21), "X-Container-Meta-Color": ""})
    assert "x-container-meta-color" not in (await containers.head(C)).headers
    # An older row loses; deletes count.
    await containers.put(f"{C}/a", headers={"X-Timestamp": ts(0), "X-Size": "999"})
    assert (await containers.head(C)).headers["x-container-bytes-used"] == "21"
    assert (await containers.delete(C, headers={"X-Timestamp": ts(30)})).status_code == 409
    for i, name in enumerate(NAMES):
        r = await containers.delete(f"{C}/{name}", headers={"X-Timestamp": ts(40 + i)})
        assert r.status_code == 204
    assert (await containers.delete(C, headers={"X-Timestamp": ts(50)})).status_code == 204
    r = await containers.get(C)
    assert r.status_code == 404 and r.headers["x-backend-delete-timestamp"] == ts(50)
    assert (await containers.put(f"{C}/late", headers={"X-Timestamp": ts(51)})).status_code == 404
    assert (await containers.put(C, headers={"X-Timestamp": ts(60)})).status_code == 201


async def test_container_bad_requests(containers):
    assert (await containers.put(C)).status_code == 400
    assert (await containers.put("/sda/x/AUTH_a/c", headers={"X-Timestamp": ts(0)})).status_code == 400
    assert (await containers.put("/nodev/3/AUTH_a/c", headers={"X-Timestamp": ts(0)})).status_code == 507
    await containers.put(C, headers={"X-Timestamp": ts(0)})
    assert (await containers.get(C + "?limit=10001")).status_code == 412
    assert (await containers.get(C + "?limit=x")).status_code == 412
    assert (await containers.put(f"{C}/o", headers={"X-Timestamp": ts(1), "X-Size": "-1"})).status_code == 400


async def test_listings(containers):
    await _filled(containers)

    async def names(query):
        r = await containers.get(f"{C}?format=json&{query}")
        assert r.status_code == 200
        return [e.get("name", e.get("subdir")) for e in r.json()]

    assert await names("") == NAMES
    assert await names("delimiter=/") == ["a", "b/", "c", "d/", "e"]
    assert await names("prefix=d/&delimiter=/") == ["d/x/"]
    assert await names("marker=b/1&end_marker=d") == ["b/2", "c"]
    assert await names("reverse=true&limit=3") == ["e", "d/x/y", "c"]
    assert await names("reverse=on&delimiter=/&marker=d") == ["c", "b/", "a"]
    assert await names("limit=2&marker=a") == ["b/1", "b/2"]
    assert await names("path=b") == ["b/1", "b/2"]
    r = await containers.get(f"{C}?format=json&limit=1")
    entry = r.json()[0]
    assert entry == {"name": "a", "hash": "e" * 32, "bytes": 1, "content_type": "text/plain",
                     "last_modified": "2023-11-14T22:13:21.000000"}
    r = await containers.get(f"{C}?prefix=b/")
    assert r.text == "b/1\nb/2\n" and r.headers["content-type"].startswith("text/plain")
    assert (await containers.get(f"{C}?prefix=zzz")).status_code == 204
    r = await containers.get(f"{C}?format=xml&delimiter=/&prefix=d/")
    root = ET.fromstring(r.content)
    assert root.tag == "container" and root.get("name") == "c"
    assert root.find("subdir").get("name") == "d/x/"
    r = await containers.get(C, params={"limit": "1"}, headers={"Accept": "application/xml"})
    assert ET.fromstring(r.content).find("object/name").text == "a"


async def test_account_rollup_and_listing(accounts, containers, devices, served):
    assert (await accounts.put(A, headers={"X-Timestamp": ts(0)})).status_code == 201
    assert (await accounts.put(A, headers={"X-Timestamp": ts(1)})).status_code == 202
    host = served(AccountServer(devices, SECRET).app())
    update = {"X-Account-Host": host, "X-Account-Device": "sda", "X-Account-Partition": "5"}
    await containers.put(C, headers={"X-Timestamp": ts(2), **update})
    await containers.put("/sda/3/AUTH_a/d", headers={"X-Timestamp": ts(3), **update})
    for i in range(3):
        await containers.put(f"{C}/o{i}", headers={"X-Timestamp": ts(4 + i), "X-Size": "10"})
    # What the container updater will send: the container's current figures.
    r = await accounts.put(f"{A}/c", headers={"X-Put-Timestamp": ts(2), "X-Delete-Timestamp": "0",
                                              "X-Object-Count": "3", "X-Bytes-Used": "30"})
    assert r.status_code == 201
    r = await accounts.head(A)
    assert r.status_code == 204
    assert (r.headers["x-account-container-count"], r.headers["x-account-object-count"],
            r.headers["x-account-bytes-used"]) == ("2", "3", "30")
    listing = (await accounts.get(f"{A}?format=json")).json()
    assert [(e["name"], e["count"], e["bytes"]) for e in listing] == [("c", 3, 30), ("d", 0, 0)]
    assert (await accounts.get(f"{A}?format=json&marker=c")).json()[0]["name"] == "d"
    assert (await accounts.get(f"{A}?reverse=1")).text == "d\nc\n"
    # Deleting a container is reported too.
    await containers.delete("/sda/3/AUTH_a/d", headers={"X-Timestamp": ts(10), **update})
    assert (await accounts.head(A)).headers["x-account-container-count"] == "1"
    await accounts.post(A, headers={"X-Timestamp": ts(11), "X-Account-Meta-Quota": "9"})
    assert (await accounts.head(A)).headers["x-account-meta-quota"] == "9"
    # The account server down: the container is made and the report left pending.
    update["X-Account-Host"] = f"127.0.0.1:{free_port()}"
    assert (await containers.put("/sda/3/AUTH_a/e", headers={"X-Timestamp": ts(12), **update})
            ).status_code == 201
    files = [p for p in (devices.root / "sda/async_pending").rglob("*") if p.is_file()]
    assert len(files) == 1
    record = read_async_pending(files[0])
    assert record["op"] == "PUT" and record["container"] == "e" and record["obj"] is None
    assert record["headers"]["X-Put-Timestamp"] == ts(12)
    assert (await accounts.delete(A, headers={"X-Timestamp": ts(13)})).status_code == 204
    assert (await accounts.head(A)).status_code == 404
    assert (await accounts.put(f"{A}/x", headers={"X-Put-Timestamp": ts(14)})).status_code == 404
