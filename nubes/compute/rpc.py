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
      its host (the request spec is stored with the instance: ``Instance.request``).
  cast ``delete_instance`` {instance_id}: for an instance with no host (never scheduled or
      ERROR before it had one): release what it holds and mark it deleted.
  cast ``move_instance`` {instance_id, migration_id, kind: resize|migration|live-migration,
      host?}: schedule a destination (unless forced), claim, drive the move.

API → agent (the instance's host)
  cast ``terminate_instance`` {instance_id}
  cast ``instance_action`` {instance_id, action, request_id, args}: start, stop, reboot,
      pause, unpause, suspend, resume, rebuild, rescue, unrescue, shelve, shelve_offload,
      snapshot, attach_interface, detach_interface, confirm_resize, revert_resize...
  call ``get_console_output`` {instance_id, length} → {output}
  call ``get_diagnostics`` {instance_id} → {...}

conductor → agent
  cast ``build_and_run_instance`` {instance_id, node, alternates: [{host, node, allocation}],
      attempt}: the instance's full record comes along as ``instance`` so the agent needs no DB.

agent → conductor
  call ``service_report`` {host, binary, node: {hypervisor_hostname, uuid, vcpus, memory_mb,
      local_gb, vcpus_used, memory_mb_used, local_gb_used, running_vms, hypervisor_type,
      hypervisor_version, host_ip, cpu_info}} → {disabled, forced_down, disabled_reason}
      (the heartbeat, every ``report_interval``; it also keeps the hypervisor row current)
  call ``instances_on_host`` {host} → {instances: [records]} (for reconciliation after a
      restart: power state sync, orphans)
  call ``instance_update`` {instance_id, expected_task_state?, updates: {vm_state, task_state,
      power_state, host, node, launched_at, network_info, ...}, action_event?: {event,
      result, traceback}} → {updated: bool} (refused if expected_task_state does not match:
      a delete that started meanwhile wins)
  cast ``build_failed`` {instance_id, host, reason, retryable}: the conductor reschedules to
      the next alternate (bounded by ``max_attempts``) or sets ERROR with a fault.
  cast ``instance_destroyed`` {instance_id, host}: the guest and its ports are gone; the
      conductor removes the allocations and marks the instance deleted.

Events published (``compute.instance.<action>.<start|end|error>``, for telemetry):
  payload {instance_id, project_id, user_id, host, flavor, state, ...}.
"""

from __future__ import annotations

CONDUCTOR_TOPIC = "compute.conductor"


def agent_topic(host: str) -> str:
    return f"compute.agent.{host}"


def event_type(action: str, phase: str) -> str:
    return f"compute.instance.{action}.{phase}"
