"""The 19 generated rules of the 20-rule benchmark (bench/run --rules20).

Realistic, varied rules over the same tables as the shipped T1528 rule:
single-table filters on status codes, URIs, user agents, methods, IP ranges
and time windows, and two-source joins on SignInActivityId ==
UniqueTokenIdentifier with different mismatch predicates. They are written
into a directory next to a copy of the shipped rule, so one `sigcorr run
--rules DIR` runs all 20 in one pass over the data.
"""

import uuid
from pathlib import Path

NAMESPACE = uuid.UUID("5b0f3c1e-2d4a-4e8b-9c61-7f1a2b3c4d5e")

GRAPH = "MicrosoftGraphActivityLogs"
SIGNINS = "[AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]"

GRAPH_OUTPUT = {
    "TimeGenerated": "activity.TimeGenerated",
    "ServicePrincipalId": "activity.ServicePrincipalId",
    "AppId": "activity.AppId",
    "IPAddress": "activity.IPAddress",
    "RequestMethod": "activity.RequestMethod",
    "RequestUri": "activity.RequestUri",
    "ResponseStatusCode": "activity.ResponseStatusCode",
}

JOIN_OUTPUT = {
    "TimeGenerated": "activity.TimeGenerated",
    "ServicePrincipalName": "signin.ServicePrincipalName",
    "SigninIPAddress": "signin.IPAddress",
    "ActivityIPAddress": "activity.IPAddress",
    "ServicePrincipalId": "activity.ServicePrincipalId",
    "RequestUri": "activity.RequestUri",
    "RequestMethod": "activity.RequestMethod",
}

# (file stem, title, level, tags, sources, filters, join, mismatch, output)
RULES = [
    # ---- single-table rules over Graph activity ----
    (
        "graph_call_from_anonymising_network",
        "Successful Graph call from a known anonymising network range",
        "high",
        ["attack.initial-access", "attack.t1078.004"],
        {"activity": GRAPH},
        {
            "activity": 'ResponseStatusCode between (200 .. 299) and (ipv4_is_in_range(IPAddress, "185.220.100.0/23")'
            ' or ipv4_is_in_range(IPAddress, "45.155.204.0/23") or ipv6_is_match(IPAddress, "2a0b:f4c0::/32"))'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_service_principal_access_denied",
        "Service principal denied access to Graph service principal or application objects",
        "low",
        ["attack.discovery", "attack.t1087.004"],
        {"activity": GRAPH},
        {
            "activity": "ResponseStatusCode in (401, 403)"
            ' and (RequestUri has "servicePrincipals" or RequestUri has "applications")'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_directory_role_enumeration",
        "Directory roles or role assignments enumerated through Graph",
        "medium",
        ["attack.discovery", "attack.t1069.003"],
        {"activity": GRAPH},
        {
            "activity": 'RequestMethod == "GET" and (RequestUri contains "/directoryRoles"'
            ' or RequestUri contains "roleManagement/directory/roleAssignments")'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_mailbox_read_recent",
        "Application reads a user's mailbox through Graph in the last 7 days",
        "medium",
        ["attack.collection", "attack.t1114.002"],
        {"activity": GRAPH},
        {
            "activity": "TimeGenerated > ago(7d) and ResponseStatusCode == 200"
            ' and RequestUri matches regex @"/users/[0-9a-fA-F-]{36}/(messages|mailFolders)"'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_attack_tool_user_agent",
        "Graph call with the user agent of an offensive tool or a browser on an app token",
        "high",
        ["attack.discovery", "attack.t1526"],
        {"activity": GRAPH},
        {
            "activity": 'UserAgent has_any ("AADInternals", "ROADtools", "GraphRunner", "TokenTactics")'
            ' or (UserAgent startswith "Mozilla/" and ResponseStatusCode < 400)'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_beta_endpoint_write",
        "Write operation on the Graph beta endpoint",
        "low",
        ["attack.persistence", "attack.t1098"],
        {"activity": GRAPH},
        {
            "activity": 'RequestUri startswith "https://graph.microsoft.com/beta/"'
            ' and RequestMethod in ("POST", "PATCH", "DELETE") and ResponseStatusCode between (200 .. 299)'
            ' and RequestUri !has "$batch"'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_group_or_user_deleted",
        "Group or user deleted through Graph",
        "medium",
        ["attack.impact", "attack.t1531"],
        {"activity": GRAPH},
        {
            "activity": 'RequestMethod =~ "delete" and ResponseStatusCode == 204'
            ' and (RequestUri contains "/groups/" or RequestUri contains "/users/")'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_batch_throttled",
        "Graph $batch requests throttled (possible bulk enumeration)",
        "informational",
        ["attack.collection", "attack.t1119"],
        {"activity": GRAPH},
        {"activity": 'RequestUri endswith "$batch" and ResponseStatusCode == 429'},
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_server_error_from_private_address",
        "Graph server error for a call from a private or loopback address",
        "informational",
        ["attack.defense-evasion"],
        {"activity": GRAPH},
        {"activity": "ResponseStatusCode >= 500 and (ipv4_is_private(IPAddress) or IPAddress startswith \"127.\")"},
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_ipv4_mapped_caller",
        "Graph call from an IPv4-mapped IPv6 address in the last 14 days",
        "informational",
        ["attack.defense-evasion"],
        {"activity": GRAPH},
        {"activity": 'TimeGenerated > ago(14d) and IPAddress startswith "::ffff:" and strlen(IPAddress) > 7'},
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_large_slow_export",
        "Large, slow Graph read: possible bulk export",
        "low",
        ["attack.exfiltration", "attack.t1567"],
        {"activity": GRAPH},
        {
            "activity": 'RequestMethod == "GET" and ResponseSizeBytes > 200000 and DurationMs > 1400'
            ' and ResponseStatusCode == 200'
        },
        None,
        None,
        GRAPH_OUTPUT,
    ),
    (
        "graph_user_search_for_admins",
        "Graph user search for administrator accounts",
        "medium",
        ["attack.discovery", "attack.t1087.004"],
        {"activity": GRAPH},
        {"activity": 'RequestUri contains "$search" and (RequestUri contains "adm" or RequestUri contains "admin")'},
        None,
        None,
        GRAPH_OUTPUT,
    ),
    # ---- single-table rules over sign-ins ----
    (
        "signin_failed_client_credentials",
        "Failed service-principal sign-in with client credentials",
        "medium",
        ["attack.credential-access", "attack.t1110"],
        {"signin": "AADServicePrincipalSignInLogs"},
        {"signin": 'ResultType != "0" and isnotempty(IPAddress)'},
        None,
        None,
        {
            "TimeGenerated": "signin.TimeGenerated",
            "ServicePrincipalName": "signin.ServicePrincipalName",
            "AppId": "signin.AppId",
            "IPAddress": "signin.IPAddress",
            "ResultType": "signin.ResultType",
            "ResultDescription": "signin.ResultDescription",
        },
    ),
    (
        "signin_secret_from_unexpected_network",
        "Client-secret sign-in from an autonomous system outside the usual cloud providers",
        "low",
        ["attack.initial-access", "attack.t1078.004"],
        {"signin": "AADServicePrincipalSignInLogs"},
        {
            "signin": 'ClientCredentialType == "clientSecret" and ResultType == "0"'
            " and AutonomousSystemNumber !in (\"8075\", \"16509\", \"15169\", \"3209\", \"6805\")"
            " and TimeGenerated > ago(30d)"
        },
        None,
        None,
        {
            "TimeGenerated": "signin.TimeGenerated",
            "ServicePrincipalName": "signin.ServicePrincipalName",
            "IPAddress": "signin.IPAddress",
            "AutonomousSystemNumber": "signin.AutonomousSystemNumber",
            "Location": "signin.Location",
        },
    ),
    # ---- two-source joins on the token id ----
    (
        "token_used_by_other_service_principal",
        "Access token used by a service principal other than the one it was issued to",
        "high",
        ["attack.credential-access", "attack.t1528"],
        {"activity": GRAPH, "signin": SIGNINS},
        {"activity": "TimeGenerated > ago(30d)", "signin": 'ResultType == "0"'},
        "activity.SignInActivityId == signin.UniqueTokenIdentifier",
        "activity.ServicePrincipalId != signin.ServicePrincipalId or activity.AppId != signin.AppId",
        JOIN_OUTPUT,
    ),
    (
        "token_used_long_after_issue",
        "Access token used more than 70 minutes after it was issued",
        "medium",
        ["attack.credential-access", "attack.t1528"],
        {"activity": GRAPH, "signin": SIGNINS},
        {"activity": "ResponseStatusCode between (200 .. 299)", "signin": None},
        "activity.SignInActivityId == signin.UniqueTokenIdentifier",
        "activity.TimeGenerated - signin.TimeGenerated > 70m",
        JOIN_OUTPUT,
    ),
    (
        "token_used_before_issue",
        "Access token used before its sign-in was recorded (clock skew or forged evidence)",
        "low",
        ["attack.defense-evasion"],
        {"activity": GRAPH, "signin": SIGNINS},
        {"activity": None, "signin": "isnotempty(UniqueTokenIdentifier)"},
        "activity.SignInActivityId == signin.UniqueTokenIdentifier",
        "activity.TimeGenerated < signin.TimeGenerated - 5m",
        JOIN_OUTPUT,
    ),
    (
        "token_write_from_other_ip_outside_egress",
        "Write made with a service-principal token from another IP, outside the known egress ranges",
        "high",
        ["attack.credential-access", "attack.t1528", "attack.persistence"],
        {"activity": GRAPH, "signin": "AADServicePrincipalSignInLogs"},
        {
            "activity": 'RequestMethod in ("POST", "PATCH", "DELETE") and ResponseStatusCode < 400'
            " and TimeGenerated > ago(30d)",
            "signin": 'isnotempty(IPAddress) and ClientCredentialType in~ ("clientSecret", "certificate")',
        },
        "activity.SignInActivityId == signin.UniqueTokenIdentifier",
        'signin.IPAddress != activity.IPAddress and not(ipv4_is_in_range(activity.IPAddress, "51.0.0.0/8"))'
        ' and not(activity.IPAddress endswith signin.IPAddress)',
        JOIN_OUTPUT,
    ),
    (
        "managed_identity_token_from_scripting_client",
        "Managed-identity token used by a scripting client or from an anonymising network",
        "high",
        ["attack.credential-access", "attack.t1528"],
        {"activity": GRAPH, "signin": "AADManagedIdentitySignInLogs"},
        {"activity": "ResponseStatusCode < 400", "signin": None},
        "activity.SignInActivityId == signin.UniqueTokenIdentifier",
        'activity.UserAgent has_any ("curl", "python-requests", "AADInternals")'
        ' or ipv4_is_in_range(activity.IPAddress, "185.220.100.0/23")'
        ' or ipv4_is_in_range(activity.IPAddress, "45.155.204.0/23")',
        JOIN_OUTPUT,
    ),
]


def quote(s: str) -> str:
    """A YAML single-quoted scalar."""
    return "'" + s.replace("'", "''") + "'"


def render(stem, title, level, tags, sources, filters, join, mismatch, output) -> str:
    lines = [
        f"title: {quote(title)}",
        f"id: {uuid.uuid5(NAMESPACE, stem)}",
        "status: experimental",
        f"description: {quote('Generated for the sigcorr 20-rule benchmark (bench/rules20.py).')}",
        "author: sigcorr benchmark",
        "license: MIT",
        "references:",
        "  - https://learn.microsoft.com/en-us/graph/microsoft-graph-activity-logs-overview",
        "tags:",
        *[f"  - {t}" for t in tags],
        f"level: {level}",
        "falsepositives:",
        "  - Benchmark rule; not tuned",
        "correlation:",
        "  sources:",
        *[f"    {alias}: {table}" for alias, table in sources.items()],
    ]
    kept = {a: f for a, f in filters.items() if f}
    if kept:
        lines.append("  filter:")
        lines.extend(f"    {alias}: {quote(f)}" for alias, f in kept.items())
    if join:
        lines.append(f"  join: {quote(join)}")
    if mismatch:
        lines.append(f"  mismatch: {quote(mismatch)}")
    lines.append("  output:")
    lines.extend(f"    {name}: {expr}" for name, expr in output.items())
    return "\n".join(lines) + "\n"


def write(directory: Path, shipped: Path) -> list[Path]:
    """Writes the shipped rule and the 19 generated rules into `directory` (emptied first)."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yml"):
        old.unlink()
    paths = [directory / f"00_{shipped.name}"]
    paths[0].write_text(shipped.read_text())
    for i, rule in enumerate(RULES, start=1):
        path = directory / f"{i:02}_{rule[0]}.yml"
        path.write_text(render(*rule))
        paths.append(path)
    assert len(paths) == 20, len(paths)
    return paths
