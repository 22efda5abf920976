"""The S3 API of the object storage proxy through boto3 (signatures version 4 and 2) and plain
HTTP (presigned URLs, bad signatures), with EC2 credentials made by the `openstack` CLI, on one
all-in-one cloud (identity and object storage) for the module."""

from __future__ import annotations

import hashlib
import os
import uuid
from xml.etree import ElementTree

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.cloud import new_user, start_cloud, stop_cloud

MIB = 1024 * 1024
DOMAIN = "s3.nubes.test"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """The module's all-in-one, its S3 API with a domain for virtual-host style requests."""
    c = start_cloud(tmp_path_factory.mktemp("s3"), services="identity,object",
                    names=("identity", "object"), extra_env={"NUBES_OBJECT__S3_DOMAIN": DOMAIN})
    yield c
    stop_cloud(c)


def _client(cloud, access: str, secret: str, signature: str, **s3_options):
    return boto3.client(
        "s3", endpoint_url=cloud.url("object"), aws_access_key_id=access,
        aws_secret_access_key=secret, region_name="us-east-1",
        config=Config(signature_version=signature, s3={"addressing_style": "path", **s3_options},
                      retries={"max_attempts": 1}, connect_timeout=10, read_timeout=60))


@pytest.fixture(scope="module")
def ec2(owner):
    made = owner.osc("ec2", "credentials", "create")
    return made["access"], made["secret"]


@pytest.fixture(scope="module")
def s3(cloud, ec2):
    return _client(cloud, *ec2, "s3v4")


@pytest.fixture(scope="module")
def s3v2(cloud, ec2):
    return _client(cloud, *ec2, "s3")


def uniq(prefix: str = "b") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def status(err: ClientError) -> int:
    return err.response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_and_object_round_trip(s3, owner):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    body = os.urandom(1000)
    put = s3.put_object(Bucket=bucket, Key="dir/one.bin", Body=body, ContentType="app/x-test",
                        Metadata={"color": "blue"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/one.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "app/x-test"
    assert got["Metadata"] == {"color": "blue"}
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=bucket, Key="dir/one.bin")
    assert head["ContentLength"] == 1000 and head["Metadata"] == {"color": "blue"}
    part = s3.get_object(Bucket=bucket, Key="dir/one.bin", Range="bytes=10-19")
    assert part["Body"].read() == body[10:20]
    assert part["ContentRange"] == "bytes 10-19/1000"
    # the same object through Swift's API: the metadata is Swift's
    r = httpx.head(owner.cloud.url("object", f"/v1/AUTH_{owner.project_id}/{bucket}/dir/one.bin"),
                   headers={"x-auth-token": owner.token})
    assert r.headers["x-object-meta-color"] == "blue"
    s3.delete_object(Bucket=bucket, Key="dir/one.bin")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="dir/one.bin")
    assert status(e.value) == 404
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=bucket)
    assert status(e.value) == 404


def test_signature_version_2_client(s3v2):
    bucket = uniq()
    s3v2.create_bucket(Bucket=bucket)
    s3v2.put_object(Bucket=bucket, Key="a b+c.txt", Body=b"v2 body", Metadata={"k": "v"})
    got = s3v2.get_object(Bucket=bucket, Key="a b+c.txt")
    assert got["Body"].read() == b"v2 body" and got["Metadata"] == {"k": "v"}
    assert [o["Key"] for o in s3v2.list_objects(Bucket=bucket)["Contents"]] == ["a b+c.txt"]
    s3v2.delete_object(Bucket=bucket, Key="a b+c.txt")
    s3v2.delete_bucket(Bucket=bucket)


def test_location_and_bucket_errors(s3):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket)
    assert (code(e.value), status(e.value)) == ("BucketAlreadyOwnedByYou", 409)
    for bad in ("UPPER", "a", "under_score", "1.2.3.4"):
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=bad)
        assert (code(e.value), status(e.value)) == ("InvalidBucketName", 400), bad
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert (code(e.value), status(e.value)) == ("BucketNotEmpty", 409)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="missing")
    assert (code(e.value), status(e.value)) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=uniq("gone"), Key="k")
    assert (code(e.value), status(e.value)) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=uniq("gone"))
    assert (code(e.value), status(e.value)) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=uniq("gone"), Key="k", Body=b"x")
    assert code(e.value) == "NoSuchBucket"
    # deleting a missing key is no error (S3's)
    s3.delete_object(Bucket=bucket, Key="missing")
    for call in (lambda: s3.get_bucket_acl(Bucket=bucket),
                 lambda: s3.get_bucket_versioning(Bucket=bucket),
                 lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket),
                 lambda: s3.get_bucket_policy(Bucket=bucket),
                 lambda: s3.get_object_acl(Bucket=bucket, Key="k")):
        with pytest.raises(ClientError) as e:
            call()
        assert (code(e.value), status(e.value)) == ("NotImplemented", 501)
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_listings(s3):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    keys = ["a/1", "a/2", "b/1", "c", "d e", "f%g"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == sorted(keys)
    assert listed["KeyCount"] == 6 and not listed["IsTruncated"]
    assert listed["Contents"][0]["Size"] == 3
    assert listed["Contents"][0]["ETag"] == f'"{hashlib.md5(b"a/1").hexdigest()}"'
    split = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in split["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in split["Contents"]] == ["c", "d e", "f%g"]
    under = s3.list_objects_v2(Bucket=bucket, Prefix="a/")
    assert [o["Key"] for o in under["Contents"]] == ["a/1", "a/2"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="b/1")
    assert [o["Key"] for o in after["Contents"]] == ["c", "d e", "f%g"]
    # pages: keys and common prefixes both count towards MaxKeys
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2})
    seen = []
    for page in pages:
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert sorted(seen) == ["a/", "b/", "c", "d e", "f%g"]
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    assert first["IsTruncated"] and first["KeyCount"] == 2
    rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == sorted(keys)[2:]
    v1 = s3.list_objects(Bucket=bucket, MaxKeys=3)
    assert v1["IsTruncated"] and len(v1["Contents"]) == 3
    v1_rest = s3.list_objects(Bucket=bucket, Marker=v1["Contents"][-1]["Key"])
    assert [o["Key"] for o in v1_rest["Contents"]] == sorted(keys)[3:]
    v1_pages = s3.get_paginator("list_objects").paginate(Bucket=bucket,
                                                         PaginationConfig={"PageSize": 4})
    assert [o["Key"] for p in v1_pages for o in p["Contents"]] == sorted(keys)
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0)["KeyCount"] == 0
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="%%%")
    assert code(e.value) == "InvalidArgument"
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    s3.delete_bucket(Bucket=bucket)


def test_copy_object(s3):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"copied bytes", ContentType="text/x-src",
                  Metadata={"origin": "src"})
    etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    done = s3.copy_object(Bucket=bucket, Key="same", CopySource={"Bucket": bucket, "Key": "src"})
    assert done["CopyObjectResult"]["ETag"] == etag
    same = s3.get_object(Bucket=bucket, Key="same")
    assert same["Body"].read() == b"copied bytes"
    assert same["ContentType"] == "text/x-src" and same["Metadata"] == {"origin": "src"}
    s3.copy_object(Bucket=bucket, Key="new", CopySource=f"{bucket}/src",
                   MetadataDirective="REPLACE", ContentType="text/x-new",
                   Metadata={"fresh": "yes"})
    new = s3.head_object(Bucket=bucket, Key="new")
    assert new["ContentType"] == "text/x-new" and new["Metadata"] == {"fresh": "yes"}
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert (code(e.value), status(e.value)) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src",
                       CopySourceIfMatch='"0123"')
    assert (code(e.value), status(e.value)) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/nothing")
    assert code(e.value) == "NoSuchKey"
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "src"}, {"Key": "same"}, {"Key": "new"}, {"Key": "never-there"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["never-there", "new", "same", "src"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="q", Body=b"")
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    s3.delete_bucket(Bucket=bucket)


def test_conditional_get(s3):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"0123456789"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"other"')
    assert status(e.value) == 412
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert status(e.value) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", Range="bytes=100-200")
    assert (code(e.value), status(e.value)) == ("InvalidRange", 416)
    got = s3.get_object(Bucket=bucket, Key="k", ResponseContentType="text/x-override")
    assert got["ContentType"] == "text/x-override"
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def _segments(owner, bucket: str) -> list[str]:
    r = httpx.get(owner.cloud.url("object", f"/v1/AUTH_{owner.project_id}/{bucket}+segments"),
                  headers={"x-auth-token": owner.token}, params={"format": "json"}, timeout=30)
    return [o["name"] for o in r.json()] if r.status_code == 200 else []


def test_multipart_upload(s3, owner):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(MIB)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", ContentType="app/x-big",
                                        Metadata={"made": "multipart"})
    uid = upload["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [("big.bin", uid)]
    parts = []
    for number, data in enumerate(parts_data, start=1):
        done = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=uid, PartNumber=number,
                              Body=data)
        assert done["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        parts.append({"PartNumber": number, "ETag": done["ETag"]})
    shown = s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in shown] == [(1, 5 * MIB), (2, 5 * MIB), (3, MIB)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=uid,
                                     MultipartUpload={"Parts": [parts[1], parts[0]]})
    assert code(e.value) == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    assert code(e.value) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=uid,
                                        MultipartUpload={"Parts": parts})
    md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
    etag = f'"{hashlib.md5(md5s).hexdigest()}-3"'
    assert done["ETag"] == etag
    whole = b"".join(parts_data)
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    assert got["ETag"] == etag and got["ContentLength"] == len(whole)
    assert got["ContentType"] == "app/x-big" and got["Metadata"] == {"made": "multipart"}
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(whole).digest()
    tail = s3.get_object(Bucket=bucket, Key="big.bin", Range=f"bytes={5 * MIB - 10}-{5 * MIB + 9}")
    assert tail["Body"].read() == whole[5 * MIB - 10:5 * MIB + 10]
    entry = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert (entry["Key"], entry["Size"], entry["ETag"]) == ("big.bin", len(whole), etag)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=uid)
    assert (code(e.value), status(e.value)) == ("NoSuchUpload", 404)
    # boto3's own transfer reads it back (ranged GETs with If-Match on the S3 ETag)
    out = bytearray()

    class Sink:
        def write(self, data):
            out.extend(data)

    s3.download_fileobj(bucket, "big.bin", Sink())
    assert bytes(out) == whole
    assert len(_segments(owner, bucket)) == 3
    s3.delete_object(Bucket=bucket, Key="big.bin")
    assert _segments(owner, bucket) == []
    s3.delete_bucket(Bucket=bucket)


def test_multipart_small_part_and_abort(s3, owner):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="k", UploadId=uid,
                                                      PartNumber=n, Body=b"tiny")["ETag"]}
             for n in (1, 2)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid,
                                     MultipartUpload={"Parts": parts})
    assert (code(e.value), status(e.value)) == ("EntityTooSmall", 400)
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert code(e.value) == "BucketNotEmpty"          # an upload in progress
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    assert _segments(owner, bucket) == []
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=3, Body=b"late")
    assert code(e.value) == "NoSuchUpload"
    # a single small part is a whole object
    one = "o n%2Fe+é"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=one)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=one, UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key=one, UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key=one)["Body"].read() == b"x"
    assert _segments(owner, bucket) == [f"{one}/{uid}/00001"]
    s3.put_object(Bucket=bucket, Key=one, Body=b"plain now")     # its parts go with it
    assert _segments(owner, bucket) == []
    s3.delete_object(Bucket=bucket, Key=one)
    s3.delete_bucket(Bucket=bucket)
    assert _segments(owner, bucket) == []


def _error(r: httpx.Response) -> dict[str, str]:
    root = ElementTree.fromstring(r.content)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def test_presigned_urls(s3, s3v2):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"presigned body")
    for client in (s3, s3v2):
        url = client.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                  "Key": "shared.txt"},
                                            ExpiresIn=300)
        r = httpx.get(url, timeout=30)
        assert (r.status_code, r.content) == (200, b"presigned body")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"},
                                        ExpiresIn=300)
    assert httpx.put(put_url, content=b"uploaded", timeout=30).status_code == 200
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"
    expiring = [c.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                               "Key": "shared.txt"}, ExpiresIn=1)
                for c in (s3, s3v2)]
    import time
    time.sleep(2.1)
    missing = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "nope"})
    r = httpx.get(missing, timeout=30)
    assert (r.status_code, r.headers["content-type"]) == (404, "application/xml")
    err = _error(r)
    assert (err["Code"], err["Key"], err["Resource"]) == ("NoSuchKey", "nope", f"/{bucket}/nope")
    assert err["Message"] and err["RequestId"] == r.headers["x-amz-request-id"]
    r = httpx.get(s3.generate_presigned_url("list_objects_v2", Params={"Bucket": uniq("gone")}),
                  timeout=30)
    assert r.status_code == 404 and _error(r)["Code"] == "NoSuchBucket"
    for url in expiring:
        r = httpx.get(url, timeout=30)
        assert r.status_code == 403
        err = _error(r)
        assert err["Code"] == "AccessDenied" and err["Message"] == "Request has expired"
        assert err["Resource"] == f"/{bucket}/shared.txt" and err["RequestId"].startswith("req-")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "shared.txt"}, {"Key": "up"}]})
    s3.delete_bucket(Bucket=bucket)


def test_wrong_secret_and_unknown_key(cloud, ec2):
    access, secret = ec2
    for signature in ("s3v4", "s3"):
        for key, sec in ((access, "not-the-secret"), ("no-such-access-key", secret)):
            bad = _client(cloud, key, sec, signature)
            with pytest.raises(ClientError) as e:
                bad.list_buckets()
            assert (code(e.value), status(e.value)) == ("SignatureDoesNotMatch", 403)
    url = _client(cloud, access, "wrong", "s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": "b-any", "Key": "k"})
    r = httpx.get(url, timeout=30)
    assert r.status_code == 403 and r.headers["content-type"] == "application/xml"
    err = _error(r)
    assert err["Code"] == "SignatureDoesNotMatch"
    assert err["Resource"] == "/b-any/k" and err["RequestId"] == r.headers["x-amz-request-id"]
    assert err["Message"]


def test_bad_requests_are_s3_errors(cloud, s3):
    """Malformed signatures, documents and bodies: S3's 4xx, never a 5xx."""
    base = cloud.url("object")
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    anonymous = httpx.get(f"{base}/{bucket}", timeout=30)
    assert anonymous.status_code == 403 and _error(anonymous)["Code"] == "AccessDenied"
    bad_auth = [
        {"authorization": "AWS4-HMAC-SHA256 garbage"},
        {"authorization": "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=0"},
        {"authorization": "AWS nocolon"},
        {"authorization": "AWS a:b"},
        {"authorization": "AWS a:b", "date": "yesterday"},
        {"authorization": "AWS4-HMAC-SHA256 Credential=a/20200101/us-east-1/s3/aws4_request, "
                          "SignedHeaders=host, Signature=0", "x-amz-date": "2020"},
        {"authorization": "AWS4-HMAC-SHA256 Credential=a/20200101/us-east-1/s3/aws4_request, "
                          "SignedHeaders=host, Signature=0", "x-amz-date": "20200101T000000Z"},
    ]
    for headers in bad_auth:
        r = httpx.get(f"{base}/{bucket}", headers=headers, timeout=30)
        assert 400 <= r.status_code < 500, (headers, r.status_code, r.text)
        assert _error(r)["Code"]
    for query in ("X-Amz-Algorithm=foo", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=abc",
                  "AWSAccessKeyId=a&Signature=b&Expires=abc", "AWSAccessKeyId=a&Signature=b"):
        r = httpx.get(f"{base}/{bucket}?{query}", timeout=30)
        assert 400 <= r.status_code < 500, (query, r.status_code, r.text)
    with pytest.raises(ClientError) as e:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": []})
    assert code(e.value) == "MalformedXML"
    refused = [
        (lambda: s3.put_object(Bucket=bucket, Key="k" * 1100, Body=b"x"), "KeyTooLongError"),
        (lambda: s3.get_object(Bucket=bucket, Key="k" * 1100), None),
        (lambda: s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"a": "x" * 300}),
         "MetadataTooLarge"),
        (lambda: s3.list_objects_v2(Bucket=bucket, MaxKeys=-1), "InvalidArgument"),
        (lambda: s3.list_objects_v2(Bucket=bucket, Delimiter="ab"), "NotImplemented"),
        (lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId="not-an-upload", PartNumber=1,
                                Body=b"x"), "NoSuchUpload"),
        (lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId="0" * 32, PartNumber=0,
                                Body=b"x"), "InvalidArgument"),
        (lambda: s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId="0" * 32,
                                              MultipartUpload={"Parts": []}), "NoSuchUpload"),
        (lambda: s3.create_bucket(Bucket=uniq(), CreateBucketConfiguration={
            "LocationConstraint": "eu-west-1"}), "InvalidLocationConstraint"),
        (lambda: s3.put_object(Bucket=bucket, Key="s", Body=b"x", StorageClass="GLACIER"),
         "InvalidStorageClass"),
        (lambda: s3.put_object(Bucket=bucket, Key="md5", Body=b"x",
                               ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="), "BadDigest"),
        (lambda: s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket,
                                                                    "Key": "nothing"}), "NoSuchKey"),
    ]
    for call, expected in refused:
        with pytest.raises(ClientError) as e:
            call()
        assert 400 <= status(e.value) < 500 or code(e.value) == "NotImplemented", e.value
        if expected:
            assert code(e.value) == expected, (expected, e.value)
    s3.delete_bucket(Bucket=bucket)


def test_body_must_match_its_signed_sha256(cloud, s3, ec2):
    """A body that is not the one signed (x-amz-content-sha256) is refused and not stored."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    url = cloud.url("object", f"/{bucket}/tampered")
    request = AWSRequest("PUT", url, data=b"another body!")       # signed, but not sent
    S3SigV4Auth(Credentials(*ec2), "s3", "us-east-1").add_auth(request)
    r = httpx.put(url, content=b"the real body", headers=dict(request.headers), timeout=30)
    assert r.status_code == 400 and _error(r)["Code"] == "XAmzContentSHA256Mismatch"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="tampered")
    assert status(e.value) == 404
    s3.delete_bucket(Bucket=bucket)


def test_swift_api_is_unchanged_beside_s3(cloud, owner):
    info = httpx.get(cloud.url("object", "/info"), timeout=30).json()
    assert info["s3api"]["max_multi_delete_objects"] == 1000 and not info["s3api"]["s3_acl"]
    r = httpx.get(cloud.url("object", f"/v1/AUTH_{owner.project_id}"),
                  headers={"x-auth-token": owner.token}, timeout=30)
    assert r.status_code in (200, 204)
    assert httpx.get(cloud.url("object", f"/v1/AUTH_{owner.project_id}"),
                     timeout=30).status_code == 401


def test_projects_are_isolated_and_readers_only_read(cloud, s3, owner, tmp_path_factory):
    """A bucket is a container of the credential's project: another project's credential sees
    its own account; a reader may read, not write (keystoneauth's rules, as for Swift)."""
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="mine", Body=b"private")
    other = new_user(cloud, tmp_path_factory.mktemp("other"), "member")
    made = other.osc("ec2", "credentials", "create")
    theirs = _client(cloud, made["access"], made["secret"], "s3v4")
    assert bucket not in [b["Name"] for b in theirs.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as e:
        theirs.get_object(Bucket=bucket, Key="mine")
    assert code(e.value) == "NoSuchBucket"
    reader = new_user(cloud, tmp_path_factory.mktemp("reader"), "reader")
    made = cloud.osc("ec2", "credentials", "create", "--user", reader.user_id,
                     "--project", reader.project_id)
    readonly = _client(cloud, made["access"], made["secret"], "s3v4")
    assert readonly.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError) as e:
        readonly.create_bucket(Bucket=uniq())
    assert (code(e.value), status(e.value)) == ("AccessDenied", 403)
    s3.delete_object(Bucket=bucket, Key="mine")
    s3.delete_bucket(Bucket=bucket)


def test_unsigned_and_aws_chunked_bodies(cloud, s3, ec2):
    """UNSIGNED-PAYLOAD bodies as they come; aws-chunked ones with a trailing checksum (what
    boto3 sends over HTTPS) decoded."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    unsigned = _client(cloud, *ec2, "s3v4", payload_signing_enabled=False)
    sent = []
    unsigned.meta.events.register("before-send.s3.PutObject",
                                  lambda request, **_: sent.append(request.headers))
    unsigned.put_object(Bucket=bucket, Key="unsigned", Body=b"no hash signed")
    assert sent[0]["x-amz-content-sha256"] == b"UNSIGNED-PAYLOAD"
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == b"no hash signed"

    data = os.urandom(70000)
    body = (f"{10000:x}\r\n".encode() + data[:10000] + b"\r\n" + f"{60000:x}\r\n".encode()
            + data[10000:] + b"\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
    url = cloud.url("object", f"/{bucket}/chunked")
    request = AWSRequest("PUT", url, data=body, headers={
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32"})
    request.context["checksum"] = {"request_algorithm": {"in": "trailer", "algorithm": "crc32"}}
    S3SigV4Auth(Credentials(*ec2), "s3", "us-east-1").add_auth(request)
    assert request.headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    r = httpx.put(url, content=body, headers=dict(request.headers), timeout=30)
    assert r.status_code == 200, r.text
    got = s3.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data and "ContentEncoding" not in got

    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "unsigned"}, {"Key": "chunked"}]})
    s3.delete_bucket(Bucket=bucket)


def _chunk_signed_put(cloud, ec2, url: str, chunks: list[bytes], forge_last: bool = False):
    """A PUT as MinIO's clients send it: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, each chunk signed
    with the signature chained from the previous (the request's for the first)."""
    import hmac

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    pieces = [*chunks, b""]
    length = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in pieces)
    request = AWSRequest("PUT", url, headers={
        "Content-Encoding": "aws-chunked", "Content-Length": str(length),
        "x-amz-decoded-content-length": str(sum(len(c) for c in chunks))})
    signer = S3SigV4Auth(Credentials(*ec2), "s3", "us-east-1")
    signer.payload = lambda _request: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    signer.add_auth(request)
    auth = request.headers["Authorization"]
    previous = auth.rpartition("Signature=")[2]
    scope = auth.split("Credential=")[1].split(",")[0].split("/", 1)[1]
    date = request.headers["X-Amz-Date"]
    key = ("AWS4" + ec2[1]).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    body = b""
    for i, chunk in enumerate(pieces):
        text = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", date, scope, previous,
                          hashlib.sha256(b"").hexdigest(), hashlib.sha256(chunk).hexdigest()))
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        sig = "0" * 64 if forge_last and i == len(pieces) - 1 else previous
        body += f"{len(chunk):x};chunk-signature={sig}\r\n".encode() + chunk + b"\r\n"
    assert len(body) == length
    return httpx.put(url, content=body, headers=dict(request.headers), timeout=30)


def test_chunk_signed_uploads(cloud, s3, ec2):
    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    data = [os.urandom(65536), os.urandom(65536), os.urandom(1000)]
    url = cloud.url("object", f"/{bucket}/streamed")
    r = _chunk_signed_put(cloud, ec2, url, data)
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{hashlib.md5(b"".join(data)).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="streamed")["Body"].read() == b"".join(data)
    # a forged final chunk: refused, and the object is not stored
    r = _chunk_signed_put(cloud, ec2, cloud.url("object", f"/{bucket}/forged"), data,
                          forge_last=True)
    assert r.status_code == 403 and _error(r)["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="forged")
    assert status(e.value) == 404
    s3.delete_object(Bucket=bucket, Key="streamed")

    s3.delete_bucket(Bucket=bucket)


def test_virtual_host_style(cloud, s3, ec2):
    """``Host: <bucket>.<[object] s3_domain>``: the bucket from the host name, signatures v4
    and v2 (whose resource is /<bucket>/<key>) as boto3 makes them for such a URL."""
    from botocore.auth import HmacV1Auth, S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    bucket = uniq()
    s3.create_bucket(Bucket=bucket)
    port = cloud.ports["object"]
    virtual = f"http://{bucket}.{DOMAIN}:{port}"
    for signer, key in ((S3SigV4Auth(Credentials(*ec2), "s3", "us-east-1"), "v4 key"),
                        (HmacV1Auth(Credentials(*ec2)), "v2 key")):
        url = f"{virtual}/{key.replace(' ', '%20')}"
        request = AWSRequest("PUT", url, data=key.encode())
        if isinstance(signer, HmacV1Auth):
            request.auth_path = f"/{bucket}/{key.replace(' ', '%20')}"
        signer.add_auth(request)
        headers = {**dict(request.headers), "Host": f"{bucket}.{DOMAIN}:{port}"}
        r = httpx.put(f"http://127.0.0.1:{port}/{key.replace(' ', '%20')}", content=key.encode(),
                      headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    request = AWSRequest("GET", f"{virtual}/?list-type=2")
    S3SigV4Auth(Credentials(*ec2), "s3", "us-east-1").add_auth(request)
    r = httpx.get(f"http://127.0.0.1:{port}/?list-type=2", timeout=30,
                  headers={**dict(request.headers), "Host": f"{bucket}.{DOMAIN}:{port}"})
    assert r.status_code == 200 and b"<Key>v2 key</Key>" in r.content and b"v4 key" in r.content
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v4 key"}, {"Key": "v2 key"}]})
    s3.delete_bucket(Bucket=bucket)


def test_s3_writes_are_held_to_the_containers_quotas(cloud, s3, owner):
    bucket = uniq("quota")
    s3.create_bucket(Bucket=bucket)
    r = httpx.post(cloud.url("object", f"/v1/AUTH_{owner.project_id}/{bucket}"), timeout=30,
                   headers={"x-auth-token": owner.token, "X-Container-Meta-Quota-Bytes": "10",
                            "X-Container-Meta-Quota-Count": "2"})
    assert r.status_code == 204, r.text
    s3.put_object(Bucket=bucket, Key="small", Body=b"0123456789")
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="big", Body=b"x" * 11)
    assert code(err.value) == "EntityTooLarge" and status(err.value) == 400
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["small"]
