"""A small in-memory AWX (24.x API) for testing playbooks/awx_configure.yml without an AWX.

Only the endpoints the awx.awx 24.6.1 modules of awx_configure.yml call, behaving as AWX does
for what those modules check:
- lists are {count, next, previous, results}, filtered by exact field values (name=,
  organization=, type=, identifier=, workflow_job_template=, the or__ pairs get_one sends);
- objects carry AWX's fields with AWX's defaults, `type`, `url` and `related`; a foreign key
  to a missing object, a null in a non-null text field and a duplicate name in an
  organization are refused (400) as DRF refuses them; a null text or bool field is stored as
  "" or false (AWX's CharNullField, ChoiceNullField, BooleanNullField);
- a credential's secret inputs are stored, and shown as "$encrypted$"; "$encrypted$" written
  back keeps the stored secret;
- a survey spec is stored, normalized and refused by AWX's own rules (tests/awx_jobs.py);
- a git project syncs on creation, on a change of its SCM fields and on POST .../update/
  (202); a sync is a project_update that finishes `sync_seconds` later with the revision of
  its URL and branch, or never (sync_seconds=None): the project's status and
  summary_fields.current_update follow it;
- sub-lists (credentials of a template, success/failure/always nodes of a workflow node)
  associate and disassociate with POST {id} / {id, disassociate: true} -> 204.
Every request is logged (method, path) for the tests.

    with FakeAWX(token="t") as awx:  # awx.url -> http://127.0.0.1:<port>
        ...
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.awx_jobs import AWXRefused, awx_store_survey_spec

API = "/api/v2/"
ENCRYPTED = "$encrypted$"
READ_ONLY = {"id", "url", "type", "related", "summary_fields", "created", "modified", "status", "scm_revision",
             "last_job_run", "last_job_failed", "next_job_run", "last_update_failed", "last_updated"}
TYPES = {"organizations": "organization", "credential_types": "credential_type", "credentials": "credential",
         "projects": "project", "project_updates": "project_update", "inventories": "inventory",
         "inventory_sources": "inventory_source", "job_templates": "job_template",
         "workflow_job_templates": "workflow_job_template",
         "workflow_job_template_nodes": "workflow_job_template_node",
         "execution_environments": "execution_environment", "labels": "label",
         "notification_templates": "notification_template", "instance_groups": "instance_group"}
# AWX's defaults of the fields the modules may send or read (a subset of each serializer).
DEFAULTS = {
    "organizations": {"description": "", "max_hosts": 0, "default_environment": None},
    "credentials": {"description": "", "organization": None, "credential_type": None, "inputs": {},
                    "managed": False, "kind": ""},
    "projects": {"description": "", "local_path": "", "scm_type": "", "scm_url": "", "scm_branch": "",
                 "scm_refspec": "", "scm_clean": False, "scm_track_submodules": False,
                 "scm_delete_on_update": False, "credential": None, "timeout": 0, "scm_revision": "",
                 "organization": None, "scm_update_on_launch": False, "scm_update_cache_timeout": 0,
                 "allow_override": False, "custom_virtualenv": None, "default_environment": None,
                 "signature_validation_credential": None, "status": "never updated"},
    "inventories": {"description": "", "organization": None, "kind": "", "host_filter": None, "variables": "",
                    "prevent_instance_group_fallback": False},
    "inventory_sources": {"description": "", "source": "", "source_path": "", "source_vars": "", "credential": None,
                          "enabled_var": "", "enabled_value": "", "host_filter": "", "overwrite": False,
                          "overwrite_vars": False, "custom_virtualenv": None, "timeout": 0, "verbosity": 1,
                          "limit": "", "inventory": None, "update_on_launch": False, "update_cache_timeout": 0,
                          "source_project": None, "scm_branch": "", "execution_environment": None},
    "job_templates": {"description": "", "job_type": "run", "inventory": None, "project": None, "playbook": "",
                      "scm_branch": "", "forks": 0, "limit": "", "verbosity": 0, "extra_vars": "", "job_tags": "",
                      "force_handlers": False, "skip_tags": "", "start_at_task": "", "timeout": 0,
                      "use_fact_cache": False, "organization": None, "execution_environment": None,
                      "host_config_key": "", "ask_scm_branch_on_launch": False, "ask_diff_mode_on_launch": False,
                      "ask_variables_on_launch": False, "ask_limit_on_launch": False, "ask_tags_on_launch": False,
                      "ask_skip_tags_on_launch": False, "ask_job_type_on_launch": False,
                      "ask_verbosity_on_launch": False, "ask_inventory_on_launch": False,
                      "ask_credential_on_launch": False, "ask_execution_environment_on_launch": False,
                      "ask_labels_on_launch": False, "ask_forks_on_launch": False,
                      "ask_job_slice_count_on_launch": False, "ask_timeout_on_launch": False,
                      "ask_instance_groups_on_launch": False, "survey_enabled": False, "become_enabled": False,
                      "diff_mode": False, "allow_simultaneous": False, "custom_virtualenv": None,
                      "job_slice_count": 1, "webhook_service": "", "webhook_credential": None,
                      "prevent_instance_group_fallback": False, "status": "never updated"},
    "workflow_job_templates": {"description": "", "extra_vars": "", "organization": None, "survey_enabled": False,
                               "allow_simultaneous": False, "ask_variables_on_launch": False, "inventory": None,
                               "limit": None, "scm_branch": None, "ask_inventory_on_launch": False,
                               "ask_scm_branch_on_launch": False, "ask_limit_on_launch": False,
                               "webhook_service": "", "webhook_credential": None, "ask_labels_on_launch": False,
                               "ask_skip_tags_on_launch": False, "ask_tags_on_launch": False, "skip_tags": None,
                               "job_tags": None, "status": "never updated"},
    "workflow_job_template_nodes": {"extra_data": {}, "inventory": None, "scm_branch": None, "job_type": None,
                                    "job_tags": None, "skip_tags": None, "limit": None, "diff_mode": None,
                                    "verbosity": None, "execution_environment": None, "forks": None,
                                    "job_slice_count": None, "timeout": None, "workflow_job_template": None,
                                    "unified_job_template": None, "all_parents_must_converge": False,
                                    "identifier": None},
    "execution_environments": {"description": "", "organization": None, "image": "", "pull": ""},
}
NON_NULL_TEXT = {"name", "description", "kind", "scm_type", "scm_url", "scm_branch", "playbook", "source",
                 "source_path", "limit", "job_tags", "skip_tags", "extra_vars", "variables", "identifier"}
NULLABLE_TEXT = {("workflow_job_templates", "limit"), ("workflow_job_templates", "scm_branch"),
                 ("workflow_job_templates", "job_tags"), ("workflow_job_templates", "skip_tags")}
FOREIGN_KEYS = {"organization": "organizations", "credential_type": "credential_types",
                "credential": "credentials", "project": "projects", "source_project": "projects",
                "inventory": "inventories", "default_environment": "execution_environments",
                "execution_environment": "execution_environments", "webhook_credential": "credentials",
                "signature_validation_credential": "credentials", "workflow_job_template": "workflow_job_templates"}
UNIQUE_NAME_IN_ORG = {"projects", "inventories", "job_templates", "workflow_job_templates", "credentials"}
SCM_FIELDS = ("scm_type", "scm_url", "scm_branch", "scm_refspec", "credential")
SUBLISTS = {("job_templates", "credentials"): "credentials", ("job_templates", "labels"): "labels",
            ("job_templates", "instance_groups"): "instance_groups",
            ("workflow_job_template_nodes", "success_nodes"): "workflow_job_template_nodes",
            ("workflow_job_template_nodes", "failure_nodes"): "workflow_job_template_nodes",
            ("workflow_job_template_nodes", "always_nodes"): "workflow_job_template_nodes",
            ("workflow_job_template_nodes", "credentials"): "credentials",
            ("workflow_job_template_nodes", "labels"): "labels",
            ("workflow_job_template_nodes", "instance_groups"): "instance_groups"}
for _kind in ("started", "success", "error"):
    for _parent in ("projects", "inventory_sources", "job_templates", "workflow_job_templates"):
        SUBLISTS[(_parent, f"notification_templates_{_kind}")] = "notification_templates"
SUBLISTS[("workflow_job_templates", "notification_templates_approvals")] = "notification_templates"
for _parent in ("inventories",):
    SUBLISTS[(_parent, "instance_groups")] = "instance_groups"


def _now():
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Refused(Exception):
    def __init__(self, status, body):
        super().__init__(body)
        self.status, self.body = status, body


class FakeAWX:
    """An in-memory AWX API server on 127.0.0.1 (a random port)."""

    def __init__(self, token: str = "fake-awx-token", sync_seconds: float | None = 0.3, version: str = "24.6.1"):
        self.token, self.sync_seconds, self.version = token, sync_seconds, version
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str]] = []
        self.objects: dict[str, dict[int, dict]] = {name: {} for name in TYPES}
        self.surveys: dict[tuple[str, int], dict] = {}
        self.secrets: dict[int, dict] = {}
        self.links: dict[tuple[str, int, str], list[int]] = {}
        self.next_id = 1
        self._seed()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- life
    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        """The requests that changed something (POST, PATCH, PUT, DELETE)."""
        return [request for request in self.requests if request[0] not in ("GET", "HEAD", "OPTIONS")]

    def find(self, collection: str, **fields) -> list[dict]:
        with self.lock:
            return [self._show(collection, obj) for obj in self.objects[collection].values()
                    if all(obj.get(key) == value for key, value in fields.items())]

    # --- objects
    def _seed(self):
        self._insert("organizations", {"name": "Default"})
        for name, kind, inputs in (
                ("Machine", "ssh", [("username", False), ("password", True), ("ssh_key_data", True),
                                    ("ssh_key_unlock", True), ("become_method", False), ("become_username", False),
                                    ("become_password", True)]),
                ("Source Control", "scm", [("username", False), ("password", True), ("ssh_key_data", True)]),
                ("Vault", "vault", [("vault_password", True), ("vault_id", False)])):
            self._insert("credential_types", {
                "name": name, "kind": kind, "managed": True, "namespace": kind,
                "inputs": {"fields": [{"id": field, "label": field, "type": "string",
                                       **({"secret": True} if secret else {})} for field, secret in inputs]}})
        self._insert("execution_environments", {"name": "AWX EE (latest)", "image": "quay.io/ansible/awx-ee:latest",
                                                "pull": ""})

    def _insert(self, collection, fields):
        obj_id = self.next_id
        self.next_id += 1
        obj = copy.deepcopy(DEFAULTS.get(collection, {}))
        obj.update(fields)
        obj.update({"id": obj_id, "type": TYPES[collection], "url": f"{API}{collection}/{obj_id}/",
                    "created": _now(), "modified": _now()})
        self.objects[collection][obj_id] = obj
        return obj

    def _related(self, collection, obj):
        base = obj["url"]
        related = {sub: f"{base}{sub}/" for (parent, sub) in SUBLISTS if parent == collection}
        if collection in ("job_templates", "workflow_job_templates"):
            related["survey_spec"] = f"{base}survey_spec/"
            related["launch"] = f"{base}launch/"
        if collection == "workflow_job_templates":
            related["workflow_nodes"] = f"{base}workflow_nodes/"
        if collection == "projects":
            related["update"] = f"{base}update/"
            related["project_updates"] = f"{base}project_updates/"
        if collection == "workflow_job_template_nodes" and obj.get("unified_job_template"):
            ujt = self._unified(obj["unified_job_template"])
            if ujt:
                related["unified_job_template"] = ujt["url"]
        for field, target in FOREIGN_KEYS.items():
            if obj.get(field) is not None:
                related[field] = f"{API}{target}/{obj[field]}/"
        return related

    def _show(self, collection, obj):
        if collection == "project_updates":
            self._progress(obj)
        if collection == "projects":
            self._project_status(obj)
        shown = copy.deepcopy(obj)
        shown["related"] = self._related(collection, obj)
        summary = {}
        if obj.get("organization"):
            org = self.objects["organizations"].get(obj["organization"])
            summary["organization"] = {"id": org["id"], "name": org["name"]}
        if collection == "credentials":
            secret = self._secret_fields(obj["credential_type"])
            shown["inputs"] = {key: (ENCRYPTED if key in secret and value != "" else value)
                               for key, value in obj["inputs"].items()}
        if collection == "projects":
            updates = [u for u in self.objects["project_updates"].values() if u["project"] == obj["id"]]
            if updates:
                last = updates[-1]
                summary["last_update"] = {"id": last["id"], "status": last["status"], "failed": last["failed"]}
                if not last["finished"]:
                    summary["current_update"] = {"id": last["id"], "status": last["status"], "failed": False}
        if collection == "workflow_job_template_nodes":
            for sub in ("success_nodes", "failure_nodes", "always_nodes"):
                shown[sub] = list(self.links.get((collection, obj["id"], sub), []))
        shown["summary_fields"] = summary
        return shown

    def _secret_fields(self, credential_type):
        ctype = self.objects["credential_types"].get(credential_type) or {"inputs": {"fields": []}}
        return {field["id"] for field in ctype["inputs"]["fields"] if field.get("secret")}

    def _unified(self, obj_id):
        for collection in ("projects", "inventory_sources", "job_templates", "workflow_job_templates"):
            if obj_id in self.objects[collection]:
                return self.objects[collection][obj_id]
        return None

    # --- project syncs
    def _revision(self, project):
        return hashlib.sha1(f"{project['scm_url']}@{project['scm_branch']}".encode()).hexdigest()

    def _start_sync(self, project):
        return self._insert("project_updates", {
            "name": project["name"], "project": project["id"], "status": "pending", "failed": False,
            "started": _now(), "finished": None, "event_processing_finished": False, "scm_revision": "",
            "scm_url": project["scm_url"], "scm_branch": project["scm_branch"], "_started": time.monotonic(),
            "_revision": self._revision(project)})

    def _progress(self, update):
        if update["finished"]:
            return
        if self.sync_seconds is None or time.monotonic() - update["_started"] < self.sync_seconds:
            update["status"] = "running"
            return
        update.update({"status": "successful", "finished": _now(), "event_processing_finished": True,
                       "scm_revision": update["_revision"]})
        project = self.objects["projects"].get(update["project"])
        if project is not None:
            project["scm_revision"] = update["_revision"]

    def _project_status(self, project):
        updates = [u for u in self.objects["project_updates"].values() if u["project"] == project["id"]]
        if updates:
            self._progress(updates[-1])
            project["status"] = updates[-1]["status"]

    # --- validation
    def _validate(self, collection, data, existing=None):
        errors = {}
        for field, value in list(data.items()):
            if value is None and field in NON_NULL_TEXT and (collection, field) not in NULLABLE_TEXT:
                data[field] = ""  # AWX's CharNullField / ChoiceNullField coerce null to ""
            if value is None and isinstance(DEFAULTS.get(collection, {}).get(field), bool):
                data[field] = False  # and its BooleanNullField null to False
            target = FOREIGN_KEYS.get(field)
            if collection == "workflow_job_template_nodes" and field == "unified_job_template" and value is not None:
                if self._unified(value) is None:
                    errors[field] = [f'Invalid pk "{value}" - object does not exist.']
            elif target and value is not None and value not in self.objects[target]:
                errors[field] = [f'Invalid pk "{value}" - object does not exist.']
        if collection == "inventories" and existing and "kind" in data and data["kind"] != existing["kind"]:
            errors["kind"] = ["Cannot change the kind of an inventory."]
        if collection in UNIQUE_NAME_IN_ORG and "name" in data:
            org = data.get("organization", existing.get("organization") if existing else None)
            for other in self.objects[collection].values():
                if other["name"] == data["name"] and other.get("organization") == org and other is not existing:
                    errors["__all__"] = [f"{TYPES[collection]} with this Name and Organization already exists."]
        if errors:
            raise Refused(400, errors)

    # --- requests
    def _list(self, objects, collection, query):
        results = []
        ors = [(key[4:], value) for key, value in query if key.startswith("or__")]
        ands = [(key, value) for key, value in query
                if not key.startswith("or__") and key not in ("page", "page_size", "order_by")]
        for obj in objects:
            shown = self._show(collection or obj["_collection"], obj) if collection else obj
            if all(str(shown.get(key)) == value for key, value in ands) and (
                    not ors or any(str(shown.get(key)) == value for key, value in ors)):
                results.append(shown)
        return {"count": len(results), "next": None, "previous": None, "results": results}

    def _unified_list(self, query):
        objects = []
        for collection in ("projects", "inventory_sources", "job_templates", "workflow_job_templates"):
            objects += [self._show(collection, obj) for obj in self.objects[collection].values()]
        return self._list(objects, None, query)

    def handle(self, method, path, query, body):
        self.requests.append((method, path))
        if not path.startswith(API):
            raise Refused(404, {"detail": "Not found."})
        parts = [unquote(part) for part in path[len(API):].strip("/").split("/") if part]
        if parts in (["ping"], ["config"]):
            return 200, {"version": self.version, "active_node": "awx", "install_uuid": "fake"}
        if parts == ["me"]:
            return 200, {"count": 1, "next": None, "previous": None, "results": [{"id": 1, "username": "admin"}]}
        if parts == ["unified_job_templates"] and method == "GET":
            return 200, self._unified_list(query)
        collection = parts[0] if parts else ""
        if collection not in self.objects:
            raise Refused(404, {"detail": "Not found."})
        if len(parts) == 1:
            if method == "GET":
                return 200, self._list(self.objects[collection].values(), collection, query)
            if method == "POST" and collection not in ("project_updates", "credential_types", "organizations"):
                return 201, self._create(collection, body)
            raise Refused(405, {"detail": f'Method "{method}" not allowed.'})
        try:
            obj_id = int(parts[1])
        except ValueError:
            raise Refused(404, {"detail": "Not found."}) from None
        obj = self.objects[collection].get(obj_id)
        if obj is None:
            raise Refused(404, {"detail": "Not found."})
        if len(parts) == 2:
            if method == "GET":
                return 200, self._show(collection, obj)
            if method in ("PATCH", "PUT"):
                return 200, self._update(collection, obj, body)
            if method == "DELETE":
                del self.objects[collection][obj_id]
                return 204, None
            raise Refused(405, {"detail": f'Method "{method}" not allowed.'})
        sub = parts[2]
        if sub == "survey_spec" and collection in ("job_templates", "workflow_job_templates"):
            key = (collection, obj_id)
            if method == "GET":
                return 200, copy.deepcopy(self.surveys.get(key, {}))
            if method == "POST":
                try:
                    self.surveys[key] = awx_store_survey_spec(body)
                except AWXRefused as refused:
                    raise Refused(400, {"error": str(refused)}) from None
                return 200, None
            if method == "DELETE":
                self.surveys.pop(key, None)
                return 200, None
        if sub == "update" and collection == "projects":
            if method == "GET":
                return 200, {"can_update": bool(obj["scm_type"])}
            if method == "POST":
                if not obj["scm_type"]:
                    raise Refused(405, {"detail": 'Method "POST" not allowed.'})
                update = self._start_sync(obj)
                return 202, {"project_update": update["id"], **self._show("project_updates", update)}
        if sub == "workflow_nodes" and collection == "workflow_job_templates":
            nodes = [n for n in self.objects["workflow_job_template_nodes"].values()
                     if n["workflow_job_template"] == obj_id]
            if method == "GET":
                return 200, self._list(nodes, "workflow_job_template_nodes", query)
            if method == "POST":
                return 201, self._create("workflow_job_template_nodes", {**body, "workflow_job_template": obj_id})
        target = SUBLISTS.get((collection, sub))
        if target:
            key = (collection, obj_id, sub)
            if method == "GET":
                members = [self.objects[target][i] for i in self.links.get(key, []) if i in self.objects[target]]
                return 200, self._list(members, target, query)
            if method == "POST":
                member = body.get("id")
                if member not in self.objects[target]:
                    raise Refused(400, {"msg": f"{target} {member} does not exist"})
                members = self.links.setdefault(key, [])
                if body.get("disassociate"):
                    if member in members:
                        members.remove(member)
                elif member not in members:
                    members.append(member)
                return 204, None
        raise Refused(404, {"detail": "Not found."})

    def _writable(self, collection, body):
        return {key: value for key, value in (body or {}).items()
                if key not in READ_ONLY and (key in DEFAULTS.get(collection, {}) or key == "name")}

    def _create(self, collection, body):
        data = self._writable(collection, body)
        if collection != "workflow_job_template_nodes" and not data.get("name"):
            raise Refused(400, {"name": ["This field is required."]})
        self._validate(collection, data)
        if collection == "credentials":
            data["inputs"] = dict(data.get("inputs") or {})
        if collection == "workflow_job_template_nodes" and not data.get("identifier"):
            data["identifier"] = hashlib.sha1(str(time.monotonic()).encode()).hexdigest()
        if collection == "job_templates" and data.get("project") and not data.get("organization"):
            data["organization"] = self.objects["projects"][data["project"]]["organization"]
        obj = self._insert(collection, data)
        if collection == "projects" and obj["scm_type"]:
            self._start_sync(obj)
        return self._show(collection, obj)

    def _update(self, collection, obj, body):
        data = self._writable(collection, body)
        self._validate(collection, data, existing=obj)
        if collection == "credentials" and "inputs" in data:
            old = obj["inputs"]
            data["inputs"] = {key: (old.get(key, "") if value == ENCRYPTED else value)
                              for key, value in (data["inputs"] or {}).items()}
        scm_changed = collection == "projects" and any(
            field in data and data[field] != obj.get(field) for field in SCM_FIELDS)
        obj.update(data)
        obj["modified"] = _now()
        if scm_changed and obj["scm_type"]:
            self._start_sync(obj)
        return self._show(collection, obj)

    def _handler(self):
        awx = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _respond(self, status, body):
                payload = b"" if body is None else json.dumps(body, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-API-Product-Name", "AWX")
                self.send_header("X-API-Product-Version", awx.version)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _dispatch(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if self.headers.get("Authorization") != f"Bearer {awx.token}":
                    return self._respond(401, {"detail": "Authentication credentials were not provided."})
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    return self._respond(400, {"detail": "JSON parse error"})
                try:
                    with awx.lock:
                        status, answer = awx.handle(self.command, url.path, parse_qsl(url.query), body)
                except Refused as refused:
                    status, answer = refused.status, refused.body
                answer = _public(answer)
                return self._respond(status, answer)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch

        return Handler


def _public(value):
    """Drop the fake's own bookkeeping fields (those starting with _)."""
    if isinstance(value, dict):
        return {key: _public(item) for key, item in value.items() if not str(key).startswith("_")}
    if isinstance(value, list):
        return [_public(item) for item in value]
    return value
