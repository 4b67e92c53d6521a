#!/usr/bin/env python3
"""Would AWS have accepted these requests? Checks recorded requests against the service models
botocore ships (the JSON models AWS publishes for its SDKs): the operation exists, required members
are there, and every value fits its shape's type, length, size, range, enum and pattern. moto
accepts much that AWS refuses; the test harness records every request its proxy forwards and runs
this on them when a test ends (tests/common/aws.rs), so a request AWS would reject fails the test.

usage: model_check.py REQUESTS.jsonl
  each line: {"method", "target" (raw path and query), "headers" (lower-case names), "body_b64"},
  or "body_omitted": true for a body too large to record (then only the URI, query and headers of a
  REST request are checked, and a JSON or query request is skipped).
prints one JSON document: {"checked", "skipped", "skipped_patterns", "violations": [{"operation",
  "path", "rule", "value"}]}.

What is not in the models is not checked here (Lambda's 4 KB environment, the 50 MB zip, S3's
1024-byte key; cross-field rules): lambda-rt's own validation and the realism proxy cover those.
A pattern is matched against the whole value, as AWS does; a pattern in Java syntax that Python
cannot compile (e.g. `\\p{L}`) is skipped and listed rather than guessed."""
import base64
import json
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ElementTree

import botocore.session

SERVICES = ("lambda", "iam", "logs", "s3", "scheduler")
SESSION = botocore.session.get_session()
MODELS = {name: SESSION.get_service_model(name) for name in SERVICES}
BY_SIGNING_NAME = {
    (model.metadata.get("signingName") or model.metadata["endpointPrefix"]): name
    for name, model in MODELS.items()
}
SKIPPED_PATTERNS = {}
COMPILED = {}


# ---- which operation a request is
def route(operation):
    """(method, path regex, required query keys, required headers, specificity) of a REST operation."""
    uri, _, query = operation.http["requestUri"].partition("?")
    pattern = re.sub(
        r"\\\{(\w+)(\\\+)?\\\}",
        lambda m: "(?P<%s>%s)" % (m.group(1), ".+" if m.group(2) else "[^/]+"),
        re.escape(uri.rstrip("/") or "/"),
    )
    query_keys = [item.partition("=")[::2] for item in query.split("&") if item]
    shape = operation.input_shape
    required = [shape.members[r].serialization for r in (shape.required_members if shape else [])]
    headers = [r["name"].lower() for r in required if r.get("location") == "header"]
    query_keys += [(r["name"], "") for r in required if r.get("location") == "querystring"]
    specificity = (len(query_keys) + len(headers), len(re.sub(r"\{[^}]*\}", "", uri)))
    return operation.http["method"], re.compile("^%s/?$" % pattern), query_keys, headers, specificity


ROUTES = {
    name: [(op, *route(model.operation_model(op))) for op in model.operation_names]
    for name, model in MODELS.items()
    if model.metadata["protocol"].startswith("rest")
}


def rest_operation(service, method, path, query, headers):
    best = None
    for name, verb, pattern, query_keys, required_headers, specificity in ROUTES[service]:
        match = pattern.match(path) if verb == method else None
        if not match or not all(h in headers for h in required_headers):
            continue
        # SDKs add x-id=<Operation> to some S3 requests: when it is there it must name this one.
        if any(
            (key == "x-id" and "x-id" in query and query["x-id"][0] != value)
            or (key != "x-id" and (key not in query or (value and query[key][0] != value)))
            for key, value in query_keys
        ):
            continue
        if best is None or specificity > best[2]:
            labels = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            best = (name, labels, specificity)
    return (best[0], best[1]) if best else (None, {})


# ---- the request's input, as the model's members
def scalar(shape, text):
    kind = shape.type_name
    if kind in ("integer", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    return text


def from_xml(shape, element):
    if shape.type_name == "structure":
        value = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            children = [c for c in element if c.tag.split("}")[-1] == wire]
            if member.type_name == "list" and member.serialization.get("flattened"):
                value[name] = [from_xml(member.member, c) for c in children]
            elif children:
                value[name] = from_xml(member, children[0])
        return value
    if shape.type_name == "list":
        return [from_xml(shape.member, c) for c in element]
    try:
        return scalar(shape, element.text or "")
    except ValueError:
        return element.text


def rest_input(operation, labels, query, headers, body, body_omitted, violations):
    shape, value = operation.input_shape, {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        try:
            if location == "uri" and wire in labels:
                value[name] = scalar(member, labels[wire])
            elif location == "querystring" and member.type_name == "map":
                value[name] = {k: v[0] for k, v in query.items()} or None
            elif location == "querystring" and wire in query:
                items = query[wire]
                value[name] = (
                    [scalar(member.member, v) for v in items]
                    if member.type_name == "list"
                    else scalar(member, items[0])
                )
            elif location == "header" and wire.lower() in headers:
                raw = headers[wire.lower()]
                value[name] = raw if member.type_name == "timestamp" else scalar(member, raw)
            elif location == "headers":
                prefix = wire.lower()
                found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
                value[name] = found or None
        except ValueError as error:
            violations.append({"path": name, "rule": "type " + member.type_name, "value": str(error)})
    value = {k: v for k, v in value.items() if v is not None}
    payload = shape.serialization.get("payload")
    if body_omitted or not body.strip():
        if payload and body_omitted:
            value[payload] = b"<omitted>"
        return value
    if payload and shape.members[payload].type_name in ("blob", "string"):
        value[payload] = body
        return value
    target = shape.members[payload] if payload else shape
    try:
        if body.lstrip().startswith(b"<"):
            document = from_xml(target, ElementTree.fromstring(body))
        else:
            document = json.loads(body)
    except (ValueError, ElementTree.ParseError) as error:
        violations.append({"path": payload or "<body>", "rule": "not JSON or XML: %s" % error, "value": None})
        return value
    if payload:
        value[payload] = document
    elif isinstance(document, dict):
        value.update(document)
    return value


def query_input(shape, prefix, params, used):
    """The query protocol (IAM): `A.B`, `List.member.N`, `Map.entry.N.key`; `List=` is empty."""
    kind = shape.type_name
    if kind == "structure":
        value = {}
        for name, member in shape.members.items():
            key = (prefix + "." if prefix else "") + member.serialization.get("name", name)
            item = query_input(member, key, params, used)
            if item is not None:
                value[name] = item
        return value if (value or not prefix) else None
    if kind in ("list", "map"):
        if params.get(prefix) == "":
            used.add(prefix)
            return [] if kind == "list" else {}
        inner = prefix
        if not shape.serialization.get("flattened"):
            element = "entry" if kind == "map" else shape.member.serialization.get("name", "member")
            inner = prefix + "." + element
        indexes = sorted(
            {int(m.group(1)) for k in params for m in [re.match(re.escape(inner) + r"\.(\d+)(\.|$)", k)] if m}
        )
        if not indexes:
            return None
        if kind == "list":
            return [query_input(shape.member, "%s.%d" % (inner, i), params, used) for i in indexes]
        return {
            query_input(shape.key, "%s.%d.key" % (inner, i), params, used): query_input(
                shape.value, "%s.%d.value" % (inner, i), params, used
            )
            for i in indexes
        }
    if prefix not in params:
        return None
    used.add(prefix)
    try:
        return scalar(shape, params[prefix])
    except ValueError:
        return params[prefix]


# ---- the checks
def matches(pattern, text):
    if pattern not in COMPILED:
        try:
            COMPILED[pattern] = re.compile(pattern, re.ASCII)
        except re.error as error:
            COMPILED[pattern] = None
            SKIPPED_PATTERNS[pattern] = str(error)
    compiled = COMPILED[pattern]
    return compiled is None or compiled.fullmatch(text) is not None


def validate(shape, value, path, violations):
    def violation(rule):
        shown = value if isinstance(value, (int, float, bool)) else repr(value)[:80]
        violations.append({"path": path, "rule": rule, "value": shown})

    def within(number, what):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and number < low:
            violation("%s %s is under the minimum %s" % (what, number, low))
        if high is not None and number > high:
            violation("%s %s is over the maximum %s" % (what, number, high))

    kind = shape.type_name
    expected = {"structure": dict, "list": list, "map": dict, "string": str, "boolean": bool}
    if kind in expected and not isinstance(value, expected[kind]):
        return violation("type " + kind)
    if kind == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                violations.append({"path": (path + "." + name).lstrip("."), "rule": "required", "value": None})
        for name, item in value.items():
            if name in shape.members and item is not None:
                validate(shape.members[name], item, (path + "." + name).lstrip("."), violations)
    elif kind == "list":
        within(len(value), "list length")
        for index, item in enumerate(value):
            validate(shape.member, item, "%s[%d]" % (path, index), violations)
    elif kind == "map":
        within(len(value), "map size")
        for key, item in value.items():
            validate(shape.key, key, "%s<key %r>" % (path, key), violations)
            validate(shape.value, item, "%s[%r]" % (path, key), violations)
    elif kind == "string":
        within(len(value), "length")
        if shape.enum and value not in shape.enum:
            violation("not one of " + "|".join(shape.enum)[:200])
        pattern = shape.metadata.get("pattern")
        if pattern and not matches(pattern, value):
            violation("pattern " + pattern)
    elif kind in ("integer", "long", "float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return violation("type " + kind)
        within(value, "value")
    elif kind == "blob" and value != b"<omitted>":
        size = len(value) if isinstance(value, bytes) else len(base64.b64decode(value))
        within(size, "blob size")


def check(record):
    """The violations of one recorded request; None when it is not an AWS request of these
    services (moto's own API) or cannot be checked (a JSON or query body too large to record)."""
    headers = record["headers"]
    scope = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request", headers.get("authorization", ""))
    service = BY_SIGNING_NAME.get(scope.group(1)) if scope else None
    if service is None:
        return None
    model = MODELS[service]
    protocol = model.metadata["protocol"]
    omitted = record.get("body_omitted", False)
    body = b"" if omitted else base64.b64decode(record.get("body_b64", ""))
    path, _, raw_query = record["target"].partition("?")
    violations, value = [], {}
    if protocol == "query":
        if omitted:
            return None
        text = body.decode() if record["method"] == "POST" else raw_query
        params = {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        name = params.get("Action")
        if name in model.operation_names and model.operation_model(name).input_shape:
            value = query_input(model.operation_model(name).input_shape, "", params, {"Action", "Version"})
    elif protocol == "json":
        if omitted:
            return None
        name = headers.get("x-amz-target", "").rpartition(".")[2]
        value = json.loads(body or b"{}")
    else:
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        name, labels = rest_operation(service, record["method"], path, query, headers)
        if name and model.operation_model(name).input_shape:
            operation = model.operation_model(name)
            if omitted and not operation.input_shape.serialization.get("payload"):
                return None  # its members are in the body that was not recorded
            value = rest_input(operation, labels, query, headers, body, omitted, violations)
    key = "%s:%s" % (service, name)
    if name not in model.operation_names:
        return [{"operation": key, "path": "", "rule": "no operation of the model matches", "value": record["target"][:120]}]
    shape = model.operation_model(name).input_shape
    if shape is not None:
        validate(shape, value, "", violations)
    return [dict(v, operation=key) for v in violations]


def main():
    checked = skipped = 0
    violations = []
    with open(sys.argv[1]) as lines:
        for line in lines:
            found = check(json.loads(line))
            if found is None:
                skipped += 1
                continue
            checked += 1
            violations.extend(found)
    json.dump(
        {"checked": checked, "skipped": skipped, "skipped_patterns": SKIPPED_PATTERNS, "violations": violations},
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()
