"""The 120 Sigma detection rules of the Sigma benchmark (bench/run --sigma120).

Standard Sigma v2.1 detection rules (`product: azure`) written for this
benchmark, not copied from SigmaHQ, with the public SigmaHQ Azure corpus's
shape: per service, auditlogs 44, activitylogs 35, riskdetection 19,
signinlogs 18, pim 4 (pim maps to AuditLogs, so those rules use AuditLogs
fields); field names mostly in the diagnostic-settings spelling
(`properties.resultType`, `operationName`, `properties.message`), about a
third in the Log Analytics spelling (`ResultType`, `OperationName`), some
camelCase Graph names (`conditionalAccessStatus`, `userAgent`) and some paths
into dynamic columns (`TargetResources.modifiedProperties.newValue`); mostly
`contains`, some `startswith`, `endswith`, `contains|all`; value lists of 1
to 15 values, integers for string columns (`ResultType: 50053`); conditions
`selection`, `selection and not filter`, `1 of selection*`, `all of them`.

sigcorr refuses `service: pim` by default (E210: the SigmaHQ pim rules test
PIM alert incidents, which no Log Analytics table holds). These pim rules test
PIM's own activity in AuditLogs, so the benchmark maps pim to AuditLogs with a
one-entry mapping file, `write_tables(dir)`, given to sigcorr with `--tables`:

    sigcorr lint --tables bench/out/sigma120-tables bench/out/sigma120

`write(dir)` writes one YAML file per rule (ids are uuid5 of the file stem,
so they are stable) and returns the paths; `mix(rules)` counts services,
field spellings, modifiers and conditions. Run as a script to write the
rules and print the mix:

    python3 bench/sigma120.py bench/out/sigma120 [bench/out/sigma120-tables]
"""

import collections
import re
import sys
import uuid
from pathlib import Path

NAMESPACE = uuid.UUID("0c4c7a52-6f0e-4b8e-9d3a-1e2f3a4b5c6d")
DATE = "2026-12-07"
AUTHOR = "sigcorr benchmark"

# Anonymising networks and bulletproof hosting the benchmark data uses.
BAD_V4_PREFIXES = ["185.220.100.", "185.220.101.", "45.155.204.", "45.155.205.", "194.165.16.", "5.188.206."]
# The tenant's own egress ranges (named location "Contoso HQ").
CORP_PREFIXES = ["20.190.128.", "203.0.113."]
ATTACK_TOOLS = [
    "python-requests",
    "AADInternals",
    "azurehound",
    "Go-http-client",
    "curl/",
    "aiohttp",
    "axios/",
    "BAV2ROPC",
    "ROADtools",
    "TokenTactics",
    "GraphRunner",
    "MicroBurst",
    "PowerZure",
    "o365spray",
    "MSOLSpray",
]
LEGACY_CLIENTS = [
    "IMAP4",
    "POP3",
    "Authenticated SMTP",
    "Exchange ActiveSync",
    "Exchange Web Services",
    "MAPI Over HTTP",
    "AutoDiscover",
    "Exchange Online PowerShell",
    "Other clients",
    "Offline Address Book",
    "Outlook Anywhere (RPC over HTTP)",
    "Exchange Online Protection",
]
PRIVILEGED_ROLES = [
    "Global Administrator",
    "Privileged Role Administrator",
    "Privileged Authentication Administrator",
    "Hybrid Identity Administrator",
    "Security Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "Intune Administrator",
    "User Administrator",
    "Authentication Policy Administrator",
    "Conditional Access Administrator",
    "Partner Tier2 Support",
    "Directory Synchronization Accounts",
]


class Rule:
    def __init__(self, stem, service, title, tags, level, detection, condition="selection", description="",
                 falsepositives=None, references=None):
        self.stem = stem
        self.service = service
        self.title = title
        self.tags = tags
        self.level = level
        self.detection = detection
        self.condition = condition
        self.description = description or title + "."
        self.falsepositives = falsepositives or ["Legitimate administration"]
        self.references = references or ["https://attack.mitre.org/techniques/" + technique_path(tags)]

    @property
    def id(self) -> str:
        return str(uuid.uuid5(NAMESPACE, "sigma120/" + self.stem))


def technique_path(tags):
    for t in tags:
        m = re.fullmatch(r"attack\.t(\d{4})(?:\.(\d{3}))?", t)
        if m:
            return f"T{m.group(1)}/" + (f"{m.group(2)}/" if m.group(2) else "")
    return ""


AZ_MS = "https://learn.microsoft.com/en-us/entra/identity/monitoring-health/concept-audit-logs"
ARM = "https://learn.microsoft.com/en-us/azure/role-based-access-control/resource-provider-operations"
RISK = "https://learn.microsoft.com/en-us/entra/id-protection/concept-identity-protection-risks"
SIGNIN = "https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes"
PIM = "https://learn.microsoft.com/en-us/entra/id-governance/privileged-identity-management/pim-how-to-use-audit-log"


def R(*args, **kw):
    return Rule(*args, **kw)


# ---------------------------------------------------------------- auditlogs (44)

AUDIT = [
    R("audit_privileged_role_member_added", "auditlogs", "Member added to a privileged Entra directory role",
      ["attack.persistence", "attack.privilege-escalation", "attack.t1098.003"], "high",
      {"selection": {"properties.message": "Add member to role",
                     "TargetResources.modifiedProperties.newValue|contains": PRIVILEGED_ROLES[:5]}},
      references=[AZ_MS]),
    R("audit_directory_role_member_removed", "auditlogs", "Member removed from an Entra directory role",
      ["attack.impact", "attack.t1531"], "low",
      {"selection": {"properties.message": "Remove member from role"}}),
    R("audit_sp_credentials_added", "auditlogs", "Credentials added to a service principal",
      ["attack.persistence", "attack.t1098.001"], "medium",
      {"selection": {"properties.message|contains": "service principal credentials"},
       "filter": {"InitiatedBy.app.displayName|startswith": "ci-deploy"}},
      "selection and not filter", falsepositives=["Secret rotation by an administrator"]),
    R("audit_app_secret_management", "auditlogs", "Application certificates or secrets changed",
      ["attack.persistence", "attack.t1098.001"], "medium",
      {"selection": {"properties.message|contains": "Certificates and secrets management"}}),
    R("audit_new_application_registered", "auditlogs", "New application registered outside the deployment pipeline",
      ["attack.persistence", "attack.t1136.003"], "low",
      {"selection": {"operationName": "Add application"},
       "filter": {"InitiatedBy.app.displayName|startswith": ["ci-deploy", "terraform"]}},
      "selection and not filter"),
    R("audit_admin_consent_granted", "auditlogs", "Tenant-wide admin consent granted to an application",
      ["attack.persistence", "attack.t1098.003"], "medium",
      {"selection": {"properties.message": "Consent to application",
                     "TargetResources.modifiedProperties.newValue|contains": "AllPrincipals"}}),
    R("audit_consent_high_risk_scopes", "auditlogs", "Consent to an application with mail or file write scopes",
      ["attack.credential-access", "attack.t1528"], "high",
      {"selection": {"OperationName": "Consent to application",
                     "TargetResources.modifiedProperties.newValue|contains": [
                         "Mail.ReadWrite", "Mail.Send", "Files.ReadWrite.All", "Directory.ReadWrite.All",
                         "MailboxSettings.ReadWrite", "full_access_as_app"]}}),
    R("audit_consent_blocked_risky_app", "auditlogs", "User consent blocked for a risky application",
      ["attack.initial-access", "attack.t1566.002"], "medium",
      {"selection": {"properties.message|contains": "Consent to application", "Status": "failure"}}),
    R("audit_dangerous_app_role_granted", "auditlogs", "Dangerous Graph application permission granted to a service principal",
      ["attack.privilege-escalation", "attack.t1098.003"], "high",
      {"selection": {"properties.message": "Add app role assignment to service principal",
                     "TargetResources.modifiedProperties.newValue|contains": [
                         "RoleManagement.ReadWrite.Directory", "AppRoleAssignment.ReadWrite.All",
                         "Application.ReadWrite.All", "Mail.ReadWrite"]}}),
    R("audit_app_owner_added", "auditlogs", "Owner added to an application or service principal",
      ["attack.persistence", "attack.t1098"], "low",
      {"selection": {"OperationName|startswith": ["Add owner to application", "Add owner to service principal"]}}),
    R("audit_ca_policy_deleted", "auditlogs", "Conditional Access policy deleted",
      ["attack.defense-evasion", "attack.t1556.009"], "high",
      {"selection": {"OperationName": "Delete conditional access policy"}}),
    R("audit_ca_policy_changed", "auditlogs", "Conditional Access policy created or changed",
      ["attack.defense-evasion", "attack.t1556.009"], "medium",
      {"selection": {"properties.message|contains": ["Update conditional access policy", "Add conditional access policy"]}}),
    R("audit_named_location_changed", "auditlogs", "Conditional Access named location changed",
      ["attack.defense-evasion", "attack.t1556.009"], "medium",
      {"selection": {"OperationName|contains": "named location"}}),
    R("audit_domain_federation_changed", "auditlogs", "Domain federation settings changed",
      ["attack.persistence", "attack.t1484.002"], "high",
      {"selection_federation": {"properties.message|contains": "federation settings"},
       "selection_authentication": {"properties.message": "Set domain authentication"}},
      "1 of selection*"),
    R("audit_unverified_domain_added", "auditlogs", "Domain added or verified in the tenant",
      ["attack.persistence", "attack.t1484.002"], "medium",
      {"selection": {"OperationName|contains": ["unverified domain", "Verify domain"]}}),
    R("audit_verified_domain_removed", "auditlogs", "Verified domain removed from the tenant",
      ["attack.impact", "attack.t1531"], "medium",
      {"selection": {"operationName": "Remove verified domain"}}),
    R("audit_partner_added", "auditlogs", "Delegated administration partner added to the tenant",
      ["attack.persistence", "attack.t1199"], "high",
      {"selection": {"properties.message": "Add partner to company"}}),
    R("audit_user_consent_setting_changed", "auditlogs", "User consent setting changed in the authorization policy",
      ["attack.defense-evasion", "attack.t1562"], "medium",
      {"selection_activity": {"OperationName": "Update authorization policy"},
       "selection_property": {"TargetResources.modifiedProperties.displayName": "PermissionGrantPolicyIdsAssignedToDefaultUserRole"}},
      "all of them"),
    R("audit_mfa_disabled_for_user", "auditlogs", "Per-user MFA disabled",
      ["attack.defense-evasion", "attack.t1556.006"], "high",
      {"selection": {"OperationName": "Disable Strong Authentication"}}),
    R("audit_admin_deleted_security_info", "auditlogs", "Administrator deleted a user's security info",
      ["attack.persistence", "attack.t1556.006"], "medium",
      {"selection": {"properties.message|contains": "deleted security info"},
       "filter": {"properties.message|startswith": "User"}},
      "selection and not filter"),
    R("audit_temporary_access_pass_created", "auditlogs", "Temporary Access Pass created for a user",
      ["attack.persistence", "attack.t1098"], "medium",
      {"selection": {"properties.message": "Admin registered security info",
                     "properties.resultReason|contains": "temporary access pass"}}),
    R("audit_security_info_from_anonymiser", "auditlogs", "Security info registered from an anonymising network",
      ["attack.persistence", "attack.t1556.006"], "high",
      {"selection": {"properties.message|startswith": "User registered security info",
                     "InitiatedBy.user.ipAddress|startswith": BAD_V4_PREFIXES}}),
    R("audit_bitlocker_key_read", "auditlogs", "BitLocker recovery key read",
      ["attack.credential-access", "attack.t1552"], "medium",
      {"selection": {"OperationName|contains": "BitLocker key"}}),
    R("audit_laps_password_recovered", "auditlogs", "Device local administrator password recovered",
      ["attack.credential-access", "attack.t1555"], "medium",
      {"selection": {"operationName|contains": "local administrator password"}}),
    R("audit_account_disabled", "auditlogs", "User account disabled by an administrator",
      ["attack.impact", "attack.t1531"], "low",
      {"selection": {"properties.message": "Disable account"},
       "filter": {"InitiatedBy.app.displayName": "Microsoft Entra Connect Sync"}},
      "selection and not filter"),
    R("audit_user_deleted_in_cloud", "auditlogs", "User deleted in the cloud, not by directory sync",
      ["attack.impact", "attack.t1531"], "medium",
      {"selection": {"properties.message|endswith": "Delete user"},
       "filter": {"Identity": "Microsoft Entra Connect Sync"}},
      "selection and not filter"),
    R("audit_user_hard_deleted", "auditlogs", "User permanently deleted",
      ["attack.impact", "attack.t1485"], "medium",
      {"selection": {"OperationName": "Hard Delete user"}}),
    R("audit_guest_invited", "auditlogs", "External user invited", ["attack.persistence", "attack.t1136.003"], "low",
      {"selection": {"OperationName": "Invite external user"}}),
    R("audit_sensitive_group_member_added", "auditlogs", "Member added to a security-sensitive group",
      ["attack.persistence", "attack.t1098"], "medium",
      {"selection": {"OperationName": "Add member to group",
                     "TargetResources.modifiedProperties.newValue|contains": [
                         "Break Glass Exclusions", "VPN Users", "Helpdesk Tier 1", "Domain Admins", "Tier 0"]}}),
    R("audit_admin_password_reset", "auditlogs", "User password reset by an administrator",
      ["attack.persistence", "attack.t1098"], "low",
      {"selection": {"properties.message|contains": ["Reset user password", "Change user password"]}}),
    R("audit_self_service_password_reset", "auditlogs", "Self-service password reset or change",
      ["attack.persistence", "attack.t1098"], "informational",
      {"selection": {"activityDisplayName|endswith": "(self-service)",
                     "loggedByService": "Self-service Password Management"}}),
    R("audit_device_registered_by_tool", "auditlogs", "Device registered by a scripted client",
      ["attack.persistence", "attack.t1098.005"], "high",
      {"selection": {"properties.message": "Register device",
                     "AdditionalDetails.value|contains": ATTACK_TOOLS[:7]}}),
    R("audit_directory_change_with_attack_tool", "auditlogs", "Directory change made with an offensive tool's user agent",
      ["attack.persistence", "attack.t1098"], "high",
      {"selection": {"AdditionalDetails.value|contains": ATTACK_TOOLS}}),
    R("audit_directory_change_from_anonymiser", "auditlogs", "Directory change made from an anonymising network",
      ["attack.persistence", "attack.t1098"], "medium",
      {"selection": {"InitiatedBy.user.ipAddress|startswith": BAD_V4_PREFIXES}}),
    R("audit_app_redirect_uri_changed", "auditlogs", "Application reply URL changed",
      ["attack.persistence", "attack.t1098"], "low",
      {"selection": {"properties.message": "Update application",
                     "TargetResources.modifiedProperties.displayName": "AppAddress"}}),
    R("audit_sp_created_interactively", "auditlogs", "Service principal created by a user",
      ["attack.persistence", "attack.t1136.003"], "low",
      {"selection": {"properties.message": "Add service principal"},
       "filter": {"InitiatedBy.app.displayName|startswith": ["ci-deploy", "terraform"]}},
      "selection and not filter"),
    R("audit_application_deleted", "auditlogs", "Application or service principal deleted",
      ["attack.impact", "attack.t1485"], "low",
      {"selection": {"operationName|contains": ["Delete application", "Remove service principal"]}}),
    R("audit_token_lifetime_policy_added", "auditlogs", "Directory policy added",
      ["attack.defense-evasion", "attack.t1562"], "low",
      {"selection": {"properties.message": "Add policy", "properties.category": "Policy"}}),
    R("audit_company_information_changed", "auditlogs", "Tenant company information or features changed",
      ["attack.defense-evasion", "attack.t1562"], "low",
      {"selection": {"properties.message|contains": ["Company Information", "directory feature"]}}),
    R("audit_failed_role_management", "auditlogs", "Failed role management operation",
      ["attack.privilege-escalation", "attack.t1098.003"], "low",
      {"selection_category": {"Category": "RoleManagement"}, "selection_result": {"properties.result": "failure"}},
      "all of them"),
    R("audit_user_restored", "auditlogs", "Deleted user restored", ["attack.persistence", "attack.t1078.004"], "low",
      {"selection": {"properties.message|contains": "Restore user"}}),
    R("audit_strong_auth_method_changed", "auditlogs", "User MFA methods changed by an administrator",
      ["attack.persistence", "attack.t1556.006"], "medium",
      {"selection": {"properties.message": "Update user",
                     "TargetResources.modifiedProperties.displayName": "StrongAuthenticationMethod"}}),
    R("audit_upn_changed", "auditlogs", "User principal name changed", ["attack.persistence", "attack.t1098"], "low",
      {"selection": {"operationName": "Update user",
                     "TargetResources.modifiedProperties.displayName": "UserPrincipalName"}}),
    R("audit_failed_app_management", "auditlogs", "Failed application management operation",
      ["attack.persistence", "attack.t1098.001"], "low",
      {"selection_category": {"properties.category": "ApplicationManagement"},
       "selection_result": {"Result": "failure"}},
      "all of them"),
]

# ---------------------------------------------------------------- pim (4)

PIM_RULES = [
    R("pim_role_assigned_outside_pim", "pim", "Directory role assigned outside of PIM",
      ["attack.privilege-escalation", "attack.t1098.003"], "high",
      {"selection": {"properties.message": "Add member to role outside of PIM (permanent)"}}, references=[PIM]),
    R("pim_permanent_eligible_assignment", "pim", "Permanent eligible role assignment in PIM",
      ["attack.persistence", "attack.t1098.003"], "medium",
      {"selection": {"properties.message|contains|all": ["eligible member", "(permanent)"]}}, references=[PIM]),
    R("pim_role_setting_changed", "pim", "PIM role setting changed",
      ["attack.defense-evasion", "attack.t1484"], "high",
      {"selection": {"OperationName": "Update role setting in PIM", "LoggedByService": "PIM"}}, references=[PIM]),
    R("pim_privileged_role_activated", "pim", "Highly privileged role activated in PIM",
      ["attack.privilege-escalation", "attack.t1078.004"], "medium",
      {"selection_activation": {"properties.message": "Add member to role completed (PIM activation)"},
       "selection_role": {"TargetResources.displayName": ["Global Administrator", "Privileged Role Administrator",
                                                          "Privileged Authentication Administrator"]}},
      "all of them",
      falsepositives=["Planned administration"], references=[PIM]),
]

# ---------------------------------------------------------------- activitylogs (35)

ACTIVITY = [
    R("arm_vm_run_command", "activitylogs", "Command run on an Azure virtual machine",
      ["attack.execution", "attack.t1651"], "medium",
      {"selection": {"operationName|contains": "VIRTUALMACHINES/RUNCOMMAND"}}, references=[ARM]),
    R("arm_disk_sas_uri", "activitylogs", "SAS URI generated for a managed disk",
      ["attack.exfiltration", "attack.t1537"], "medium",
      {"selection": {"operationName|endswith": "/DISKS/BEGINGETACCESS/ACTION"}}),
    R("arm_snapshot_created", "activitylogs", "Disk snapshot created", ["attack.collection", "attack.t1530"], "low",
      {"selection": {"operationName|contains": "/SNAPSHOTS/", "resultType": "Success"}}),
    R("arm_vm_extension_installed", "activitylogs", "Virtual machine extension installed by a user",
      ["attack.execution", "attack.t1651"], "low",
      {"selection": {"operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/EXTENSIONS/WRITE"},
       "filter": {"Authorization_d.evidence.principalType": "ServicePrincipal"}},
      "selection and not filter"),
    R("arm_nsg_rule_changed", "activitylogs", "Network security group rule created, changed or deleted",
      ["attack.defense-evasion", "attack.t1562.007"], "low",
      {"selection_write": {"operationName": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/WRITE"},
       "selection_delete": {"operationName": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SECURITYRULES/DELETE"}},
      "1 of selection*"),
    R("arm_nsg_deleted", "activitylogs", "Network security group deleted", ["attack.defense-evasion", "attack.t1562.007"],
      "medium", {"selection": {"OperationNameValue": "MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/DELETE"}}),
    R("arm_firewall_changed", "activitylogs", "Azure Firewall or firewall policy changed",
      ["attack.defense-evasion", "attack.t1562.007"], "medium",
      {"selection": {"operationName|contains": ["FIREWALLPOLICIES", "AZUREFIREWALLS"]}}),
    R("arm_waf_policy_changed", "activitylogs", "Web application firewall policy changed",
      ["attack.defense-evasion", "attack.t1562.007"], "medium",
      {"selection": {"operationName|contains": "APPLICATIONGATEWAYWEBAPPLICATIONFIREWALLPOLICIES"}}),
    R("arm_vpn_gateway_changed", "activitylogs", "Virtual network gateway changed",
      ["attack.persistence", "attack.t1133"], "medium",
      {"selection": {"OperationNameValue|startswith": "MICROSOFT.NETWORK/VIRTUALNETWORKGATEWAYS/"}}),
    R("arm_storage_keys_listed_by_user", "activitylogs", "Storage account keys listed by a user",
      ["attack.credential-access", "attack.t1552.007"], "low",
      {"selection": {"operationName": "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION"},
       "filter": {"Authorization_d.evidence.principalType": "ServicePrincipal"}},
      "selection and not filter"),
    R("arm_storage_key_regenerated", "activitylogs", "Storage account key regenerated",
      ["attack.impact", "attack.t1531"], "medium",
      {"selection": {"operationName|endswith": "/REGENERATEKEY/ACTION"}}),
    R("arm_storage_account_deleted", "activitylogs", "Storage account deleted", ["attack.impact", "attack.t1485"],
      "medium", {"selection": {"operationName": "MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE"}}),
    R("arm_key_vault_deleted", "activitylogs", "Key Vault deleted", ["attack.impact", "attack.t1485"], "high",
      {"selection": {"OperationNameValue|endswith": "KEYVAULT/VAULTS/DELETE"}}),
    R("arm_key_vault_access_policy", "activitylogs", "Key Vault access policy changed",
      ["attack.persistence", "attack.t1098"], "medium",
      {"selection": {"OperationNameValue|endswith": "/ACCESSPOLICIES/WRITE"}}),
    R("arm_role_assignment_created", "activitylogs", "Azure RBAC role assignment created",
      ["attack.privilege-escalation", "attack.t1098"], "low",
      {"selection": {"operationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", "resultType": "Success"}}),
    R("arm_custom_role_defined", "activitylogs", "Custom Azure role definition created or changed",
      ["attack.privilege-escalation", "attack.t1098"], "medium",
      {"selection": {"operationName|contains": "ROLEDEFINITIONS/WRITE"}}),
    R("arm_elevate_access", "activitylogs", "Global administrator elevated access to all subscriptions",
      ["attack.privilege-escalation", "attack.t1078.004"], "high",
      {"selection": {"operationName|contains": "ELEVATEACCESS"}}),
    R("arm_policy_assignment_removed", "activitylogs", "Azure Policy assignment deleted or exemption created",
      ["attack.defense-evasion", "attack.t1562"], "medium",
      {"selection": {"operationName": ["MICROSOFT.AUTHORIZATION/POLICYASSIGNMENTS/DELETE",
                                       "MICROSOFT.AUTHORIZATION/POLICYEXEMPTIONS/WRITE"]}}),
    R("arm_resource_lock_deleted", "activitylogs", "Resource lock deleted", ["attack.impact", "attack.t1485"], "medium",
      {"selection": {"OperationNameValue|contains": "/LOCKS/DELETE"}}),
    R("arm_diagnostic_setting_deleted", "activitylogs", "Diagnostic setting deleted",
      ["attack.defense-evasion", "attack.t1562.008"], "high",
      {"selection": {"operationName|contains|all": ["DIAGNOSTICSETTINGS", "/DELETE"]}}),
    R("arm_activity_log_alert_deleted", "activitylogs", "Activity log alert deleted",
      ["attack.defense-evasion", "attack.t1562.008"], "medium",
      {"selection": {"operationName|contains": "ACTIVITYLOGALERTS/DELETE"}}),
    R("arm_workspace_keys_or_delete", "activitylogs", "Log Analytics workspace deleted or its shared keys read",
      ["attack.defense-evasion", "attack.t1562.008"], "medium",
      {"selection_delete": {"OperationNameValue": "MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/DELETE"},
       "selection_keys": {"OperationNameValue|endswith": "/WORKSPACES/SHAREDKEYS/ACTION"}},
      "1 of selection*"),
    R("arm_web_publishing_profile", "activitylogs", "Web app publishing profile downloaded",
      ["attack.credential-access", "attack.t1552"], "low",
      {"selection": {"OperationNameValue": "MICROSOFT.WEB/SITES/PUBLISHXML/ACTION"}}),
    R("arm_sql_firewall_rule", "activitylogs", "SQL server firewall rule created or changed",
      ["attack.defense-evasion", "attack.t1562.007"], "low",
      {"selection": {"OperationNameValue|contains": "SQL/SERVERS/FIREWALLRULES"}}),
    R("arm_aks_admin_credentials", "activitylogs", "AKS cluster admin credentials listed",
      ["attack.credential-access", "attack.t1552.007"], "medium",
      {"selection": {"operationName|contains": "LISTCLUSTERADMINCREDENTIAL"}}),
    R("arm_arc_cluster_connected", "activitylogs", "Kubernetes cluster connected to Azure Arc",
      ["attack.persistence", "attack.t1133"], "low",
      {"selection": {"OperationNameValue": "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/WRITE"}}),
    R("arm_automation_runbook_or_webhook", "activitylogs", "Automation runbook or webhook created",
      ["attack.persistence", "attack.t1053"], "medium",
      {"selection": {"operationName|contains|all": ["MICROSOFT.AUTOMATION/", "/WRITE"]},
       "filter": {"operationName|endswith": "/JOBS/WRITE"}},
      "selection and not filter"),
    R("arm_federated_identity_credential", "activitylogs", "Federated identity credential added to a managed identity",
      ["attack.persistence", "attack.t1098.001"], "high",
      {"selection": {"operationName|endswith": "/FEDERATEDIDENTITYCREDENTIALS/WRITE"}}),
    R("arm_defender_plan_changed", "activitylogs", "Microsoft Defender for Cloud plan changed",
      ["attack.defense-evasion", "attack.t1562.001"], "high",
      {"selection": {"operationName|contains": "SECURITY/PRICINGS"}}),
    R("arm_security_alert", "activitylogs", "Microsoft Defender for Cloud alert raised",
      ["attack.execution", "attack.t1059"], "medium",
      {"selection_category": {"CategoryValue": "Security"}, "selection_operation": {"OperationNameValue|contains": "ALERTS/ACTIVATE"}},
      "all of them"),
    R("arm_resource_group_deleted", "activitylogs", "Resource group deleted", ["attack.impact", "attack.t1485"], "medium",
      {"selection": {"operationName": "MICROSOFT.RESOURCES/SUBSCRIPTIONS/RESOURCEGROUPS/DELETE"}}),
    R("arm_operation_from_anonymiser", "activitylogs", "Resource Manager operation from an anonymising network",
      ["attack.initial-access", "attack.t1078.004"], "high",
      {"selection": {"CallerIpAddress|startswith": BAD_V4_PREFIXES}}),
    R("arm_policy_deny", "activitylogs", "Operation denied by Azure Policy", ["attack.impact", "attack.t1496"], "low",
      {"selection_category": {"properties.eventCategory": "Policy"},
       "selection_deny": {"operationName|contains": "/DENY/ACTION"}},
      "all of them"),
    R("arm_vm_deleted", "activitylogs", "Virtual machine deleted", ["attack.impact", "attack.t1485"], "low",
      {"selection": {"operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE", "resultType": "Success"}}),
    R("arm_key_vault_secret_from_outside", "activitylogs", "Key Vault secret written from outside the corporate network",
      ["attack.persistence", "attack.t1098"], "medium",
      {"selection": {"operationName": "MICROSOFT.KEYVAULT/VAULTS/SECRETS/WRITE"},
       "filter_corp": {"callerIpAddress|startswith": CORP_PREFIXES},
       "filter_azure": {"Authorization_d.evidence.principalType": "ServicePrincipal"}},
      "selection and not 1 of filter_*"),
]

# ---------------------------------------------------------------- riskdetection (19)


def risk_rule(stem, field, value, title, tags, level, filter_state=False):
    det = {"selection": {field: value}}
    cond = "selection"
    if filter_state:
        det["filter"] = {"riskState": ["dismissed", "remediated"]}
        cond = "selection and not filter"
    return R(stem, "riskdetection", title, tags, level, det, cond, references=[RISK],
             falsepositives=["A detection the user confirms as their own activity"])


RISK_RULES = [
    risk_rule("risk_unfamiliar_features", "properties.riskEventType", "unfamiliarFeatures",
              "Unfamiliar sign-in properties", ["attack.initial-access", "attack.t1078.004"], "low", True),
    risk_rule("risk_anonymized_ip", "properties.riskEventType", "anonymizedIPAddress",
              "Sign-in from an anonymized IP address", ["attack.command-and-control", "attack.t1090.003"], "medium"),
    risk_rule("risk_unlikely_travel", "properties.riskEventType", "unlikelyTravel", "Atypical travel",
              ["attack.initial-access", "attack.t1078.004"], "medium"),
    risk_rule("risk_malicious_ip", "RiskEventType", "maliciousIPAddress", "Sign-in from a malicious IP address",
              ["attack.initial-access", "attack.t1078.004"], "high"),
    risk_rule("risk_impossible_travel", "properties.riskEventType", "mcasImpossibleTravel", "Impossible travel",
              ["attack.initial-access", "attack.t1078.004"], "medium", True),
    risk_rule("risk_new_country", "RiskEventType", "newCountry", "Sign-in from a new country",
              ["attack.initial-access", "attack.t1078.004"], "low"),
    risk_rule("risk_leaked_credentials", "riskEventType", "leakedCredentials", "Leaked credentials",
              ["attack.credential-access", "attack.t1589.001"], "high"),
    risk_rule("risk_anomalous_token", "properties.riskEventType", ["anomalousToken", "tokenIssuerAnomaly"],
              "Anomalous token or token issuer", ["attack.credential-access", "attack.t1606.002"], "high"),
    risk_rule("risk_risky_ip", "RiskEventType", "riskyIPAddress", "Activity from an infrequent or risky IP address",
              ["attack.initial-access", "attack.t1078.004"], "low"),
    risk_rule("risk_password_spray", "properties.riskEventType", "passwordSpray", "Password spray detected",
              ["attack.credential-access", "attack.t1110.003"], "high"),
    risk_rule("risk_threat_intelligence", "riskEventType", "investigationsThreatIntelligence",
              "Microsoft Entra threat intelligence", ["attack.initial-access", "attack.t1078.004"], "high"),
    risk_rule("risk_suspicious_browser", "RiskEventType", "suspiciousBrowser", "Suspicious browser",
              ["attack.initial-access", "attack.t1078.004"], "medium"),
    risk_rule("risk_inbox_manipulation", "RiskEventType", "mcasSuspiciousInboxManipulationRules",
              "Suspicious inbox manipulation rules", ["attack.collection", "attack.t1114.003"], "medium"),
    risk_rule("risk_inbox_forwarding", "RiskEventType", "suspiciousInboxForwarding", "Suspicious inbox forwarding",
              ["attack.collection", "attack.t1114.003"], "medium"),
    risk_rule("risk_admin_confirmed_compromised", "RiskEventType", "adminConfirmedUserCompromised",
              "Administrator confirmed user compromised", ["attack.initial-access", "attack.t1078.004"], "high"),
    risk_rule("risk_anomalous_user_activity", "RiskEventType", ["anomalousUserActivity", "suspiciousAPITraffic"],
              "Anomalous user activity or API traffic", ["attack.discovery", "attack.t1087.004"], "medium"),
    risk_rule("risk_attacker_in_the_middle", "riskEventType", "attackerinTheMiddle", "Attacker in the middle",
              ["attack.credential-access", "attack.t1557"], "high"),
    risk_rule("risk_prt_access", "riskEventType", ["attemptedPrtAccess", "nationStateIP"],
              "Attempted Primary Refresh Token access or nation-state IP", ["attack.credential-access", "attack.t1528"],
              "high"),
    risk_rule("risk_mfa_fraud", "riskEventType", ["mfaFraud", "userReportedSuspiciousActivity"],
              "User reported MFA fraud or suspicious activity", ["attack.credential-access", "attack.t1621"], "high"),
]

# ---------------------------------------------------------------- signinlogs (18)

SIGNIN_RULES = [
    R("signin_from_anonymiser", "signinlogs", "Successful sign-in from an anonymising network",
      ["attack.initial-access", "attack.t1078.004"], "high",
      {"selection_v4": {"properties.ipAddress|startswith": BAD_V4_PREFIXES, "properties.resultType": 0},
       "selection_v6": {"properties.ipAddress|startswith": "2a0b:f4c0:", "properties.resultType": 0}},
      "1 of selection*"),
    R("signin_password_spray_failures", "signinlogs", "Failed password or unknown user from outside the corporate network",
      ["attack.credential-access", "attack.t1110.003"], "low",
      {"selection": {"properties.resultType": [50126, 50053, 50034, 50057]},
       "filter": {"NetworkLocationDetails|contains": "Contoso HQ"}},
      "selection and not filter", references=[SIGNIN]),
    R("signin_legacy_authentication", "signinlogs", "Successful sign-in with a legacy authentication client",
      ["attack.defense-evasion", "attack.t1550"], "medium",
      {"selection": {"ClientApp": LEGACY_CLIENTS, "properties.resultType": 0}}),
    R("signin_ropc", "signinlogs", "Sign-in with the resource owner password credentials flow",
      ["attack.defense-evasion", "attack.t1078.004"], "medium",
      {"selection": {"properties.message": "ROPC"}}),
    R("signin_device_code", "signinlogs", "Sign-in with the device code flow",
      ["attack.initial-access", "attack.t1566.002"], "medium",
      {"selection_protocol": {"properties.authenticationProtocol": "deviceCode"},
       "selection_transfer": {"originalTransferMethod": "deviceCodeFlow"}},
      "1 of selection*"),
    R("signin_attack_tool_user_agent", "signinlogs", "Sign-in with an offensive tool's user agent",
      ["attack.credential-access", "attack.t1110"], "high",
      {"selection": {"userAgent|contains": ATTACK_TOOLS}}),
    R("signin_mfa_denied", "signinlogs", "MFA request denied by the user",
      ["attack.credential-access", "attack.t1621"], "medium",
      {"selection_code": {"properties.resultType": 500121}, "selection_detail": {"Status.additionalDetails|contains": "declined"}},
      "all of them"),
    R("signin_blocked_by_conditional_access", "signinlogs", "Sign-in blocked by Conditional Access",
      ["attack.initial-access", "attack.t1078.004"], "low",
      {"selection": {"conditionalAccessStatus": "failure", "properties.resultType": 53003}}),
    R("signin_high_risk_success", "signinlogs", "Successful sign-in at high risk",
      ["attack.initial-access", "attack.t1078.004"], "high",
      {"selection": {"properties.riskLevelDuringSignIn": "high", "properties.resultType": 0}}),
    R("signin_azure_management_noncompliant", "signinlogs", "Single-factor Azure management sign-in from a non-compliant device",
      ["attack.initial-access", "attack.t1078.004"], "medium",
      {"selection": {"ResourceDisplayName": "Windows Azure Service Management API", "DeviceDetail.isCompliant": "false"},
       "filter": {"AuthenticationRequirement": "multiFactorAuthentication"}},
      "selection and not filter"),
    R("signin_admin_tools_single_factor", "signinlogs", "Single-factor sign-in to an Azure administration tool",
      ["attack.initial-access", "attack.t1078.004"], "medium",
      {"selection_app": {"AppDisplayName": ["Azure Portal", "Microsoft Azure CLI", "Microsoft Azure PowerShell"]},
       "selection_single_factor": {"AuthenticationRequirement": "singleFactorAuthentication", "ResultType": 0}},
      "all of them"),
    R("signin_directory_powershell", "signinlogs", "Sign-in to directory PowerShell or Graph command-line tools",
      ["attack.discovery", "attack.t1087.004"], "low",
      {"selection": {"properties.appDisplayName|contains": ["PowerShell", "Graph Command Line", "Graph Explorer"]}}),
    R("signin_high_risk_country", "signinlogs", "Successful sign-in from a high-risk country",
      ["attack.initial-access", "attack.t1078.004"], "medium",
      {"selection": {"Location": ["RU", "NG", "IR", "KP", "VN", "RO", "BY", "CN"], "ResultType": 0}}),
    R("signin_disabled_account", "signinlogs", "Sign-in attempt to a disabled account",
      ["attack.initial-access", "attack.t1078.004"], "low",
      {"selection": {"ResultType": 50057}}, references=[SIGNIN]),
    R("signin_unknown_user", "signinlogs", "Sign-in attempt with a user name that does not exist",
      ["attack.reconnaissance", "attack.t1589.002"], "low",
      {"selection": {"properties.resultType": 50034}}, references=[SIGNIN]),
    R("signin_account_locked_description", "signinlogs", "Sign-in refused because the account is locked",
      ["attack.credential-access", "attack.t1110.001"], "medium",
      {"selection": {"properties.resultDescription|contains|all": ["account is locked", "incorrect"]}}),
    R("signin_anonymized_ip_risk", "signinlogs", "Sign-in flagged with an anonymized IP address risk",
      ["attack.command-and-control", "attack.t1090.003"], "medium",
      {"selection": {"RiskEventTypes_V2|contains": "anonymizedIPAddress"}}),
    R("signin_guest_azure_management", "signinlogs", "Guest user signs in to Azure management",
      ["attack.initial-access", "attack.t1078.004"], "low",
      {"selection": {"UserType": "Guest", "ResourceDisplayName|contains": "Service Management"}}),
]

RULES = AUDIT + PIM_RULES + ACTIVITY + RISK_RULES + SIGNIN_RULES

# The mapping file for `--tables`: pim reads AuditLogs (replacing the built-in
# `unavailable` entry with the same keys).
PIM_TABLES = """\
# sigcorr --tables file of the Sigma benchmark (bench/sigma120.py): the benchmark's pim rules
# test PIM's own activity, which PIM writes to AuditLogs (LoggedByService "PIM").
logsources:
  - product: azure
    service: pim
    tables: [AuditLogs]
"""

EXPECTED = {"auditlogs": 44, "activitylogs": 35, "riskdetection": 19, "signinlogs": 18, "pim": 4}

# ---------------------------------------------------------------- YAML

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._/()\-–]*[A-Za-z0-9)]|[A-Za-z]")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def scalar(v) -> str:
    if isinstance(v, bool):
        raise TypeError("booleans are written as strings")
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _PLAIN.fullmatch(s) and s.lower() not in _YAML_WORDS and ": " not in s and " #" not in s:
        return s
    return "'" + s.replace("'", "''") + "'"


def to_yaml(rule: Rule) -> str:
    out = [
        f"title: {scalar(rule.title)}",
        f"id: {rule.id}",
        "status: test",
        f"description: {scalar(rule.description)}",
        "references:",
        *[f"  - {r}" for r in rule.references],
        f"author: {AUTHOR}",
        f"date: {DATE}",
        "tags:",
        *[f"  - {t}" for t in rule.tags],
        "logsource:",
        "  product: azure",
        f"  service: {rule.service}",
        "detection:",
    ]
    for name, sel in rule.detection.items():
        out.append(f"  {name}:")
        for field, value in sel.items():
            if isinstance(value, list) and len(value) > 1:
                out.append(f"    {field}:")
                out.extend(f"      - {scalar(v)}" for v in value)
            else:
                out.append(f"    {field}: {scalar(value[0] if isinstance(value, list) else value)}")
    out.append(f"  condition: {rule.condition}")
    out.append("falsepositives:")
    out.extend(f"  - {scalar(f)}" for f in rule.falsepositives)
    out.append(f"level: {rule.level}")
    return "\n".join(out) + "\n"


def write(directory: Path) -> list[Path]:
    """Writes the 120 rules into `directory` (emptied of *.yml first); returns the paths."""
    check()
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yml"):
        old.unlink()
    paths = []
    for rule in RULES:
        p = directory / f"{rule.stem}.yml"
        p.write_text(to_yaml(rule))
        paths.append(p)
    return paths


def write_tables(directory: Path) -> Path:
    """Writes the `--tables` mapping file (pim -> AuditLogs) into `directory`; returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sigma120-pim.yml").write_text(PIM_TABLES)
    return directory


def check():
    counts = collections.Counter(r.service for r in RULES)
    assert dict(counts) == EXPECTED, counts
    stems = [r.stem for r in RULES]
    assert len(set(stems)) == len(stems), "duplicate stem"
    titles = [r.title for r in RULES]
    assert len(set(titles)) == len(titles), "duplicate title"


# ---------------------------------------------------------------- the mix

DIAGNOSTIC_ENVELOPE = {"operationname", "resulttype", "resultsignature", "resultdescription", "category",
                       "calleripaddress", "identity", "level", "location", "correlationid", "durationms"}


def spelling(field: str) -> str:
    """diagnostic (`properties.x`, envelope `operationName`), Log Analytics (`ResultType`),
    camelCase (`conditionalAccessStatus`) or path (`TargetResources.modifiedProperties.newValue`)."""
    if field.startswith("properties.") or field in ("operationName", "resultType", "callerIpAddress", "category"):
        return "diagnostic"
    if "." in field:
        return "path"
    if field[0].islower():
        return "camelCase"
    return "Log Analytics"


def mix(rules=RULES) -> dict:
    services = collections.Counter(r.service for r in rules)
    fields = collections.Counter()
    primary = collections.Counter()
    modifiers = collections.Counter()
    conditions = collections.Counter()
    list_sizes = collections.Counter()
    integers = 0
    for r in rules:
        conditions[r.condition] += 1
        first = True
        for sel in r.detection.values():
            for key, value in sel.items():
                field, *mods = key.split("|")
                fields[spelling(field)] += 1
                if first and not r.detection.get("filter") is sel:
                    primary[spelling(field)] += 1
                    first = False
                modifiers["|".join(mods) or "(equals)"] += 1
                n = len(value) if isinstance(value, list) else 1
                list_sizes[n] += 1
                vals = value if isinstance(value, list) else [value]
                integers += sum(isinstance(v, int) for v in vals)
    return {"services": dict(services), "rule spelling (first field)": dict(primary), "field spellings": dict(fields),
            "modifiers": dict(modifiers), "conditions": dict(conditions),
            "values per field": dict(sorted(list_sizes.items())), "integer values": integers}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "out" / "sigma120"
    tables = Path(sys.argv[2]) if len(sys.argv) > 2 else target.parent / (target.name + "-tables")
    paths = write(target)
    write_tables(tables)
    print(f"{len(paths)} rules -> {target}; pim -> AuditLogs mapping -> {tables}")
    print(f"  lint: sigcorr lint --tables {tables} {target}")
    for k, v in mix().items():
        print(f"  {k}: {v}")
