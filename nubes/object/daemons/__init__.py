"""Object storage's background daemons, which keep the replicas of a storage node in step.

Each needs only the node's devices and the rings (no database, no bus): ``replicator`` pushes
the partitions this node holds to their other replicas and hands a handoff's back,
``auditor`` reads every object and quarantines the damaged ones. Each has a one-pass function
(``replicate_once``, ``audit_once``) and a loop that ``nubes up`` runs as one of the service's
agents (``run_replicator``, ``run_auditor``)."""
