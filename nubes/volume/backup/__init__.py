"""Volume backups (Cinder's cinder-backup): a worker beside each volume manager, which reads the
volume through its driver's ``local_image`` and keeps backups in a store.

- ``store.py``   the interface of a backup store, and the directory one (``[volume] backup_path``).
- ``object_store.py`` backups as objects in the owner's account of object storage (Swift API).
- ``engine.py``  the volume's bytes in chunks with per-chunk SHA-256 (full, incremental, restore).
- ``worker.py``  the bus handlers on the storage node (``volume.backup.<host@backend>``).
- ``reports.py`` the controller's side of the workers' reports (database, quota, volume status).
"""
