"""The official Kubernetes Python client against a Capstan API server.

Usage: python3 client_test.py KUBECONFIG
Prints one "ok <step>" line per step and exits 0 when all pass; any failure raises.
"""
import sys
import threading

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def step(name):
    print("ok", name, flush=True)


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()
    ns = "pyclient"

    # Version and namespaces.
    version = client.VersionApi().get_code()
    assert version.major == "1", version
    step("version")

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    got = core.read_namespace(ns)
    assert got.status.phase == "Active", got.status
    step("namespace")

    # CRUD on a ConfigMap.
    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"app": "py"}), data={"a": "1"})
    created = core.create_namespaced_config_map(ns, cm)
    assert created.metadata.uid and created.metadata.resource_version, created.metadata
    read = core.read_namespaced_config_map("settings", ns)
    assert read.data == {"a": "1"}, read.data
    read.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("settings", ns, read)
    assert replaced.data == {"a": "1", "b": "2"}, replaced.data
    listed = core.list_namespaced_config_map(ns, label_selector="app=py")
    assert [i.metadata.name for i in listed.items] == ["settings"], listed.items
    try:
        core.create_namespaced_config_map(ns, cm)
        raise AssertionError("duplicate create succeeded")
    except ApiException as e:
        assert e.status == 409, e
    step("configmap crud")

    # Stale update: 409 Conflict.
    stale = created
    stale.data = {"stale": "yes"}
    try:
        core.replace_namespaced_config_map("settings", ns, stale)
        raise AssertionError("stale update succeeded")
    except ApiException as e:
        assert e.status == 409, e
    step("conflict")

    # Patches: JSON patch (a list body) and merge patch.
    patched = core.patch_namespaced_config_map(
        "settings", ns, [{"op": "add", "path": "/data/c", "value": "3"}])
    assert patched.data["c"] == "3", patched.data
    patched = core.patch_namespaced_config_map(
        "settings", ns, {"data": {"a": None}}, _content_type="application/merge-patch+json")
    assert "a" not in patched.data, patched.data
    step("patch")

    # A Deployment with defaults, scaled through the scale subresource.
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.27")]))))
    d = apps.create_namespaced_deployment(ns, dep)
    assert d.spec.revision_history_limit == 10, d.spec
    assert d.spec.strategy.rolling_update.max_surge == "25%", d.spec.strategy
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.spec.replicas == 1, scale
    scale.spec.replicas = 3
    apps.replace_namespaced_deployment_scale("web", ns, scale)
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 3
    step("deployment")

    # A watch: existing objects first, then live events.
    events = []
    w = watch.Watch()
    ready = threading.Event()

    def run_watch():
        for ev in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=15):
            events.append((ev["type"], ev["object"].metadata.name))
            if ev["object"].metadata.name == "settings" and ev["type"] == "ADDED":
                ready.set()
            if ev["type"] == "DELETED" and ev["object"].metadata.name == "watched":
                w.stop()

    t = threading.Thread(target=run_watch, daemon=True)
    t.start()
    assert ready.wait(10), events
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched")))
    core.patch_namespaced_config_map("watched", ns, {"data": {"x": "y"}},
                                     _content_type="application/merge-patch+json")
    core.delete_namespaced_config_map("watched", ns)
    t.join(15)
    assert not t.is_alive(), events
    watched = [e for e in events if e[1] == "watched"]
    assert [e[0] for e in watched] == ["ADDED", "MODIFIED", "DELETED"], events
    step("watch")

    # Deletes.
    status = core.delete_namespaced_config_map("settings", ns)
    # Recent clients return the Status as a dict, older ones as V1Status.
    outcome = status.get("status") if isinstance(status, dict) else status.status
    assert outcome == "Success", status
    try:
        core.read_namespaced_config_map("settings", ns)
        raise AssertionError("deleted ConfigMap still readable")
    except ApiException as e:
        assert e.status == 404, e
    apps.delete_namespaced_deployment("web", ns)
    ns_deleted = core.delete_namespace(ns)
    assert ns_deleted is not None
    step("delete")
    print("ALL OK", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
