"""What the Service registry and the admission plugins do around validation.

``ServiceAllocator`` is the Service registry's allocation (``pkg/registry/core/service/storage``
``alloc.go``, ``storage.go``): a
ClusterIP from the service range (10.96.0.0/12, kind's default) with ``clusterIPs``,
``ipFamilies`` and ``ipFamilyPolicy``, a node port (30000-32767) for each port of a
NodePort or LoadBalancer Service, values kept across updates that leave them out, and the 422
of a requested address or port outside the range or already taken. ``ClaimResize`` is the
``PersistentVolumeClaimResize`` admission plugin: a claim grows only when it is bound and its
storage class allows expansion (403 otherwise). Both are installed by ``KubeSim``.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from gitops_agent.testing.kubesim import errors, quantities
from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim.kinds import PVCS, SERVICES, ResourceType
from gitops_agent.testing.kubesim.store import Store

Obj = dict[str, Any]
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = (30000, 32767)
_STATIC_BAND = 256  # the low addresses the allocator leaves for static assignment


class ServiceAllocator:
    """Cluster IPs and node ports of Services."""

    def __init__(self, store: Store, *, seed: int = 0) -> None:
        self.store = store
        self.random = random.Random(seed)

    def __call__(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt is not SERVICES:
            return
        spec = obj.setdefault("spec", {})
        if old is not None:
            _carry_over(spec, old.get("spec") or {})
        if spec.get("type") == "ExternalName":
            return
        name = str(obj["metadata"].get("name") or "")
        self._cluster_ip(spec, name, obj["metadata"].get("uid"))
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            self._node_ports(spec, name, obj["metadata"].get("uid"))

    def _used(self, uid: Any) -> tuple[set[str], set[int]]:
        ips: set[str] = set()
        ports: set[int] = set()
        for stored in self.store.items(SERVICES):
            if stored.obj["metadata"].get("uid") == uid:
                continue
            spec = stored.obj.get("spec") or {}
            ips.update(spec.get("clusterIPs") or [])
            ports.update(p.get("nodePort") for p in spec.get("ports") or [] if p.get("nodePort"))
        return ips, ports

    def _cluster_ip(self, spec: Obj, name: str, uid: Any) -> None:
        wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
        headless = wanted == "None"
        if not headless:
            used, _ = self._used(uid)
            if wanted:
                _check_address(str(wanted), used, name)
            else:
                wanted = self._free_address(used)
        spec["clusterIP"] = wanted
        spec["clusterIPs"] = [wanted]
        # headless and selectorless: RequireDualStack, both families even on a single-stack
        # cluster (initIPFamilyFields' special case)
        dual = headless and not spec.get("selector")
        policy = spec.setdefault("ipFamilyPolicy", "RequireDualStack" if dual else "SingleStack")
        families = spec.setdefault("ipFamilies", ["IPv4"])
        if dual and policy != "SingleStack" and len(families) < 2:
            spec["ipFamilies"] = [*families, "IPv6" if families[0] == "IPv4" else "IPv4"]

    def _free_address(self, used: set[str]) -> str:
        size = SERVICE_RANGE.num_addresses
        while True:
            address = str(SERVICE_RANGE[self.random.randrange(_STATIC_BAND, size - 1)])
            if address not in used:
                return address

    def _node_ports(self, spec: Obj, name: str, uid: Any) -> None:
        if (
            spec.get("type") == "LoadBalancer"
            and spec.get("allocateLoadBalancerNodePorts") is False
        ):
            return
        _, used = self._used(uid)
        causes = []
        for i, port in enumerate(spec.get("ports") or []):
            number = port.get("nodePort")
            if not number:
                number = self._free_port(used)
                port["nodePort"] = number
            elif not NODE_PORTS[0] <= number <= NODE_PORTS[1]:
                causes.append(
                    fe.invalid(
                        f"spec.ports[{i}].nodePort",
                        number,
                        "provided port is not in the valid range. The range of valid ports is "
                        f"{NODE_PORTS[0]}-{NODE_PORTS[1]}",
                    )
                )
            elif number in used:
                causes.append(
                    fe.invalid(
                        f"spec.ports[{i}].nodePort", number, "provided port is already allocated"
                    )
                )
            used.add(number)
        if causes:
            raise errors.invalid(SERVICES, name, causes)

    def _free_port(self, used: set[int]) -> int:
        while True:
            number = self.random.randint(*NODE_PORTS)
            if number not in used:
                return number


def _check_address(address: str, used: set[str], name: str) -> None:
    """422 for a requested cluster IP the allocator cannot give."""
    detail = ""
    try:
        inside = ipaddress.ip_address(address) in SERVICE_RANGE
    except ValueError:
        return  # not an IP at all: validation reports it
    if not inside:
        detail = (
            f"failed to allocate IP {address}: the provided IP ({address}) is not in the valid "
            f"range. The range of valid IPs is {SERVICE_RANGE}"
        )
    elif address in used:
        detail = f"failed to allocate IP {address}: provided IP is already allocated"
    if detail:
        raise errors.invalid(SERVICES, name, [fe.invalid("spec.clusterIPs", [address], detail)])


def _carry_over(spec: Obj, old_spec: Obj) -> None:
    """``patchAllocatedValues``: what an update leaves out keeps its allocated value."""
    if spec.get("type") == "ExternalName":
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if spec.get(key) == old_spec.get(key):
                spec.pop(key, None)
        return
    if old_spec.get("type") != "ExternalName":
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if not spec.get(key) and old_spec.get(key):
                spec[key] = old_spec[key]
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        old_ports = {(p.get("port"), p.get("protocol")): p for p in old_spec.get("ports") or []}
        for port in spec.get("ports") or []:
            before = old_ports.get((port.get("port"), port.get("protocol")))
            if not port.get("nodePort") and before and before.get("nodePort"):
                port["nodePort"] = before["nodePort"]
    elif old_spec.get("type") in ("NodePort", "LoadBalancer"):
        for port in spec.get("ports") or []:
            port.pop("nodePort", None)


class ClaimResize:
    """The ``PersistentVolumeClaimResize`` admission plugin."""

    def __init__(self, *, expandable: bool) -> None:
        self.expandable = expandable

    def __call__(self, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt is not PVCS or old is None:
            return
        if _storage(obj) <= _storage(old):
            return
        if (old.get("status") or {}).get("phase") != "Bound":
            reason = "Only bound persistent volume claims can be expanded"
        elif not self.expandable or not (obj.get("spec") or {}).get("storageClassName"):
            reason = (
                "only dynamically provisioned pvc can be resized and the storageclass that "
                "provisions the pvc must support resize"
            )
        else:
            return
        name = obj["metadata"]["name"]
        raise errors.forbidden(
            f'persistentvolumeclaims "{name}" is forbidden: {reason}',
            {"name": name, "kind": "persistentvolumeclaims"},
        )


def _storage(claim: Obj) -> float:
    requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}
    return float(quantities.to_number(requests.get("storage", "0")))
