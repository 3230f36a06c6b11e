"""What can be checked of the deployment files without a Docker engine: they parse, every file they name
exists, every store has a health check, and Redis keeps its queue across restarts."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_names_only_files_that_exist() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name}: {source}"


def test_every_store_and_api_has_a_health_check_and_apis_wait_for_stores() -> None:
    services = _compose()["services"]
    for store in ("qdrant", "redis", "postgres"):
        assert services[store]["healthcheck"]["test"]
    for api in ("ingest", "pitch", "enablement", "web"):
        assert services[api]["command"][:4] == ["pitchcraft", "serve", "--service", api]
        assert services[api]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert services[api]["environment"]["PITCHCRAFT_MODE"] == "distributed"
    assert "HEALTHCHECK" in (ROOT / "deploy" / "Dockerfile").read_text()


def test_redis_is_persistent_and_never_evicts() -> None:
    conf = (ROOT / "deploy" / "redis.conf").read_text().split("\n")
    assert "appendonly yes" in conf
    assert "maxmemory-policy noeviction" in conf


def test_router_sends_each_prefix_to_its_service() -> None:
    conf = (ROOT / "deploy" / "router.conf").read_text()
    for api in ("ingest", "pitch", "enablement"):
        assert f"location /{api}/" in conf and f"proxy_pass http://{api};" in conf
    # The web app takes every other path, and reaches the APIs back through the router.
    assert "location /            { proxy_pass http://web;" in conf
    assert _compose()["services"]["web"]["environment"]["PITCHCRAFT_WEB_API_URL"] == "http://router:8080"


def test_kubernetes_manifests_parse() -> None:
    docs = [
        d for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(path.read_text())
    ]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs if d}
    assert ("Deployment", "pitchcraft-ingest") in kinds and ("Deployment", "pitchcraft-worker-ingest") in kinds
    assert ("Deployment", "pitchcraft-web") in kinds and ("Service", "pitchcraft-web") in kinds
