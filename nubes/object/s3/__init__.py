"""The S3 API of object storage, served by the proxy beside Swift's (as Swift's s3api
middleware): buckets (path-style, or virtual-host style with ``[object] s3_domain``) and
objects, multipart uploads, signatures version 4 and 2 judged by identity with EC2 credentials
(docs/object-storage-s3.md)."""
