"""The compute service's bus contract: who talks to whom, with which messages.

Processes and topics (DESIGN.md: API → conductor → scheduler → compute agent → driver):

- ``compute.conductor`` — served by the conductor, which runs beside the compute API on the
  controller and is the only part of compute besides the API that touches the database. The
  scheduler is a library the conductor calls (no topic of its own).
- ``compute.agent.<host>`` — served by the compute agent of one host (a real hypervisor host,
  or one of the fake hosts ``nubes up --fake-hosts N`` runs in-process). Agents never touch
  the database: what they need they get from the conductor, from placement, network and
  image over REST (``core.clients``), and they report back to the conductor.

Every message is a dict payload; handlers are idempotent (delivery is at least once).
Names below are the bus *methods*; ``cast`` = fire and forget, ``call`` = with a reply.

API → conductor
  cast ``build_instances`` {instance_ids: [...]}: schedule, claim in placement, send each to
      its host (the request spec is stored with the instance: ``Instance.request``). An
      instance already placed but not yet taken up by its host (the message came again after a
      conductor stopped) is sent to its host again.
  cast ``delete_instance`` {instance_id}: for an instance with no host (never scheduled or
      ERROR before it had one) or whose host's service is down: remove its ports (the ones
      the user passed in are only unbound), release its allocations and mark it deleted.
  cast ``move_instance`` {instance_id, migration_id, kind: resize|migration|live-migration,
      host?}: schedule a destination (unless forced), claim, drive the move.

API → agent (the instance's host)
  cast ``terminate_instance`` {instance_id, instance}: ``instance`` is the record (as for
      a build); the agent destroys the guest, deletes the ports (unbinds the user's own) and
      casts ``instance_destroyed``.
  cast ``instance_action`` {instance_id, action, request_id, args}: start, stop, reboot,
      pause, unpause, suspend, resume, rebuild, rescue, unrescue, shelve, shelve_offload,
      snapshot, attach_interface, detach_interface, confirm_resize, revert_resize...
  call ``attach_volume`` {instance_id | instance, volume_id, connection_info, mountpoint?,
      request_id?} → {volume_id, mountpoint}: plug block storage's volume into the guest (hot-plug
      while it runs, at its next start when stopped); ``connection_info`` is block storage's
      (``{driver_volume_type: file|nbd, data}``, see ``drivers/base.py`` "Volumes")
  call ``detach_volume`` {instance_id | instance, volume_id, connection_info?, mountpoint?,
      request_id?} → {volume_id, detached: true}: unplug it (bounded wait for the guest)
  call ``extend_volume`` {instance_id | instance, volume_id, new_size (GiB) | new_size_bytes,
      connection_info?, request_id?} → {volume_id, size_bytes}: the guest sees the grown volume
      (Nova's ``volume-extended`` event). The three are idempotent; with ``request_id`` the
      request's instance action gets ``compute_attach_volume`` / ``compute_detach_volume`` /
      ``compute_extend_volume``; failures: InstanceNotFound (not on this host),
      VolumeActionFailed (409, ``details.retryable``), BadRequest (a malformed message)
  call ``get_console_output`` {instance_id, length} → {output}
  call ``get_console`` {instance_id, kind: vnc|serial, console_type} → {host, port,
      internal_access_path}: where a console proxy reaches the guest's console
  call ``get_diagnostics`` {instance_id} → {...}
  call ``get_host_uptime`` {} → {uptime} (the host's ``uptime`` line, for os-hypervisors)
  cast ``set_host_enabled`` {enabled}: the service was enabled/disabled; the agent sets or removes
      its provider's ``COMPUTE_STATUS_DISABLED`` trait now (the next heartbeat would anyway)

conductor → agent
  cast ``build_and_run_instance`` {instance_id, node, alternates: [{host, node, uuid,
      allocations}], attempt, admin_password}: the instance's full record comes along as
      ``instance`` (``service.server_records.record``: with ``requested_networks`` [{network_id,
      port_id, fixed_ip, tag}], ``security_group_ids``, ``image``, ``block_devices``,
      ``metadata``) so the agent needs no DB.

agent → conductor
  call ``service_report`` {host, binary, node: {hypervisor_hostname, uuid, vcpus, memory_mb,
      local_gb, vcpus_used, memory_mb_used, local_gb_used, running_vms, hypervisor_type,
      hypervisor_version, host_ip, cpu_info}} → {disabled, forced_down, disabled_reason, new}
      (the heartbeat, every ``report_interval``; it also keeps the hypervisor row current;
      ``new``: this report created the service row, so the agent re-sends its placement provider)
  call ``instances_on_host`` {host} → {instances: [records]} (for reconciliation after a
      restart: power state sync, orphans): the live instances whose ``host`` is that host, and
      those with a move under way from or to it (their record has ``migration``: {id, kind,
      status, source_compute, dest_compute, source_node, dest_node})
  call ``instance_update`` {instance_id, expected_task_state?, expected_vm_state?, expected_host?,
      updates: {vm_state, task_state, power_state, host, node, launched_at, network_info, ...},
      action_event?: {event, action?, request_id?, host?, result?, traceback?, details?}}
      → {updated: bool} (refused if an expected_* — a value or a list of them — does not match: a
      delete that started meanwhile wins; a build reported by a host the instance was rescheduled
      away from, or a second copy of a build message, changes nothing: builds send
      expected_vm_state "building" and expected_host). The event goes to the instance's latest
      action (of that ``action``/``request_id`` when given); without ``result`` it starts, with
      one it ends.
  cast ``build_failed`` {instance_id, host, reason, retryable}: the conductor reschedules to
      the next alternate (bounded by ``max_attempts``) or sets ERROR with a fault. Also sent by
      an agent at start for the builds its previous run left half done (``agent.recovery``),
      and by the conductor to itself for builds on a host that went down (``conductor.watch``).
  cast ``instance_destroyed`` {instance_id, host}: the guest and its ports are gone; the
      conductor removes the allocations and marks the instance deleted.

Events published (``compute.instance.<action>.<start|end|error>``, for telemetry):
  payload {instance_id, project_id, user_id, host, flavor, state, ...}.
"""

from __future__ import annotations

CONDUCTOR_TOPIC = "compute.conductor"
# What the agents send the conductor (heartbeats, instance_update, build results) has a queue of
# its own, served by the same handlers: behind a backlog of thousands of new builds cast by the
# API to CONDUCTOR_TOPIC, heartbeats arrived too late (every host looked down) and the builds
# under way timed out waiting for their own instance_update.
CONDUCTOR_AGENTS_TOPIC = "compute.conductor.agents"
# And the heartbeats a queue of their own again: behind the instance_update calls of hundreds of
# builds under way they still came late enough for hosts to look down.
CONDUCTOR_REPORT_TOPIC = "compute.conductor.report"
REPORT_METHODS = frozenset({"service_report", "instances_on_host"})


def agent_topic(host: str) -> str:
    return f"compute.agent.{host}"


def event_type(action: str, phase: str) -> str:
    return f"compute.instance.{action}.{phase}"
