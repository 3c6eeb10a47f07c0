//! Log Analytics column -> diagnostic-settings JSON path, per table, for the
//! records this crate writes. `README.md` carries the same table as markdown
//! (a test keeps the two in sync, and another checks every `Same` / `Json`
//! mapping on generated data).

use crate::model::Table;

/// How the diagnostic value relates to the Log Analytics value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// Identical JSON value (same text, same type, same null-ness).
    Same,
    /// The LA value is a JSON-encoded string of the diagnostic (nested) value.
    Json,
    /// Same information, different text or type (see `note`).
    Loose,
    /// No diagnostic counterpart.
    None,
}

/// One column of a table and where the same data lives in a diagnostic record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub column: &'static str,
    /// Dotted path from the record root (`properties.ipAddress`, `tenantId`).
    pub path: Option<&'static str>,
    pub kind: MapKind,
    pub note: &'static str,
}

impl Table {
    /// Column -> diagnostic path mappings, in output column order.
    pub fn diagnostic_paths(self) -> Vec<Mapping> {
        match self {
            Table::MicrosoftGraphActivityLogs => GRAPH.to_vec(),
            Table::AADServicePrincipalSignInLogs => SIGNIN
                .iter()
                .filter(|m| !matches!(m.column, "ManagedServiceIdentity" | "SourceAppClientId"))
                .copied()
                .collect(),
            Table::AADManagedIdentitySignInLogs => {
                SIGNIN.iter().filter(|m| m.column != "AutonomousSystemNumber").copied().collect()
            }
            Table::SigninLogs => USER.to_vec(),
            Table::AuditLogs => AUDIT.to_vec(),
        }
    }
}

/// The mapping tables as markdown (the README section is this text).
pub fn markdown() -> String {
    let mut s = String::new();
    let sections: [(&str, Vec<Mapping>); 4] = [
        ("MicrosoftGraphActivityLogs", GRAPH.to_vec()),
        ("AADServicePrincipalSignInLogs / AADManagedIdentitySignInLogs", SIGNIN.to_vec()),
        ("SigninLogs (subset)", USER.to_vec()),
        ("AuditLogs (subset)", AUDIT.to_vec()),
    ];
    for (title, rows) in sections {
        s.push_str(&format!("#### {title}\n\n"));
        s.push_str("| Log Analytics column | diagnostic path | relation | note |\n|---|---|---|---|\n");
        for m in rows {
            let path = m.path.map(|p| format!("`{p}`")).unwrap_or_else(|| "—".into());
            let kind = match m.kind {
                MapKind::Same => "same",
                MapKind::Json => "json",
                MapKind::Loose => "loose",
                MapKind::None => "—",
            };
            s.push_str(&format!("| `{}` | {path} | {kind} | {} |\n", m.column, m.note));
        }
        s.push('\n');
    }
    s
}

const GRAPH: &[Mapping] = &[
    Mapping {
        column: "TenantId",
        path: None,
        kind: MapKind::None,
        note: "Log Analytics workspace id; not in diagnostic records",
    },
    Mapping {
        column: "TimeGenerated",
        path: Some("properties.timeGenerated"),
        kind: MapKind::Same,
        note: "also equal to envelope `time`",
    },
    Mapping {
        column: "Location",
        path: Some("properties.location"),
        kind: MapKind::Same,
        note: "also envelope `location`",
    },
    Mapping { column: "RequestId", path: Some("properties.requestId"), kind: MapKind::Same, note: "" },
    Mapping { column: "OperationId", path: Some("properties.operationId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ClientRequestId",
        path: Some("properties.clientRequestId"),
        kind: MapKind::Same,
        note: "also envelope `correlationId`",
    },
    Mapping {
        column: "ApiVersion",
        path: Some("properties.apiVersion"),
        kind: MapKind::Same,
        note: "also envelope `operationVersion`",
    },
    Mapping { column: "RequestMethod", path: Some("properties.requestMethod"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ResponseStatusCode",
        path: Some("properties.responseStatusCode"),
        kind: MapKind::Same,
        note: "int; envelope `resultSignature` is the same code as a string",
    },
    Mapping {
        column: "DurationMs",
        path: Some("properties.durationMs"),
        kind: MapKind::Same,
        note: "int; envelope `durationMs` is the same number as a string",
    },
    Mapping {
        column: "ResponseSizeBytes",
        path: Some("properties.responseSizeBytes"),
        kind: MapKind::Same,
        note: "int",
    },
    Mapping {
        column: "SignInActivityId",
        path: Some("properties.signInActivityId"),
        kind: MapKind::Same,
        note: "join key (`uti`)",
    },
    Mapping {
        column: "IPAddress",
        path: Some("properties.ipAddress"),
        kind: MapKind::Same,
        note: "also envelope `callerIpAddress`",
    },
    Mapping { column: "UserAgent", path: Some("properties.userAgent"), kind: MapKind::Same, note: "" },
    Mapping { column: "RequestUri", path: Some("properties.requestUri"), kind: MapKind::Same, note: "" },
    Mapping { column: "AppId", path: Some("properties.appId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "UserId",
        path: Some("properties.userId"),
        kind: MapKind::Same,
        note: "also `properties.UserPrincipalObjectID`",
    },
    Mapping {
        column: "ServicePrincipalId",
        path: Some("properties.servicePrincipalId"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping { column: "TokenIssuedAt", path: Some("properties.tokenIssuedAt"), kind: MapKind::Same, note: "" },
    Mapping { column: "Scopes", path: Some("properties.scopes"), kind: MapKind::Same, note: "" },
    Mapping { column: "Roles", path: Some("properties.roles"), kind: MapKind::Same, note: "" },
    Mapping { column: "Wids", path: Some("properties.wids"), kind: MapKind::Same, note: "" },
    Mapping { column: "IdentityProvider", path: Some("properties.identityProvider"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ClientAuthMethod",
        path: Some("properties.clientAuthMethod"),
        kind: MapKind::Loose,
        note: "int in LA; in diagnostic records usually int, ~10% a string (`\"2\"`)",
    },
    Mapping { column: "DeviceId", path: Some("properties.deviceId"), kind: MapKind::Same, note: "" },
    Mapping { column: "SessionId", path: Some("properties.sessionId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "UniqueTokenId",
        path: Some("properties.uniqueTokenId"),
        kind: MapKind::Same,
        note: "same value as SignInActivityId here",
    },
    Mapping {
        column: "AadTenantId",
        path: Some("properties.tenantId"),
        kind: MapKind::Same,
        note: "also envelope `tenantId`",
    },
    Mapping { column: "ATContent", path: Some("properties.atContent"), kind: MapKind::Same, note: "" },
    Mapping { column: "ATContentH", path: Some("properties.atContentH"), kind: MapKind::Same, note: "" },
    Mapping { column: "ATContentP", path: Some("properties.atContentP"), kind: MapKind::Same, note: "" },
    Mapping { column: "SourceSystem", path: None, kind: MapKind::None, note: "`Azure AD`, Log Analytics only" },
    Mapping {
        column: "Type",
        path: None,
        kind: MapKind::None,
        note: "from envelope `category` (`MicrosoftGraphActivityLogs`)",
    },
];

const SIGNIN: &[Mapping] = &[
    Mapping {
        column: "TenantId",
        path: None,
        kind: MapKind::None,
        note: "Log Analytics workspace id; not in diagnostic records",
    },
    Mapping { column: "SourceSystem", path: None, kind: MapKind::None, note: "`Azure AD`, Log Analytics only" },
    Mapping {
        column: "TimeGenerated",
        path: Some("properties.createdDateTime"),
        kind: MapKind::Loose,
        note: "same instant, written `+00:00` instead of `Z`; envelope `time` is 0.5-20 min later (and differs per duplicate delivery)",
    },
    Mapping { column: "OperationName", path: Some("operationName"), kind: MapKind::Same, note: "" },
    Mapping { column: "OperationVersion", path: Some("operationVersion"), kind: MapKind::Same, note: "" },
    Mapping { column: "Category", path: Some("category"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ResultType",
        path: Some("resultType"),
        kind: MapKind::Same,
        note: "`0`, or an AADSTS code on failed sign-ins; also `properties.status.errorCode` (int)",
    },
    Mapping { column: "ResultSignature", path: Some("resultSignature"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ResultDescription",
        path: Some("resultDescription"),
        kind: MapKind::Same,
        note: "also `properties.status.failureReason`",
    },
    Mapping { column: "DurationMs", path: Some("durationMs"), kind: MapKind::Same, note: "int" },
    Mapping {
        column: "CorrelationId",
        path: Some("correlationId"),
        kind: MapKind::Same,
        note: "also `properties.correlationId`",
    },
    Mapping {
        column: "ResourceGroup",
        path: None,
        kind: MapKind::None,
        note: "`Microsoft.aadiam`, Log Analytics only",
    },
    Mapping { column: "Identity", path: Some("identity"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "Level",
        path: Some("level"),
        kind: MapKind::Loose,
        note: "LA `4`; diagnostic `Informational` (or `4`)",
    },
    Mapping {
        column: "Location",
        path: Some("location"),
        kind: MapKind::Same,
        note: "also `properties.location.countryOrRegion`",
    },
    Mapping { column: "AppId", path: Some("properties.appId"), kind: MapKind::Same, note: "" },
    Mapping { column: "AppOwnerTenantId", path: Some("properties.appOwnerTenantId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "AuthenticationContextClassReferences",
        path: Some("properties.authenticationContextClassReferences"),
        kind: MapKind::Json,
        note: "",
    },
    Mapping {
        column: "AuthenticationProcessingDetails",
        path: Some("properties.authenticationProcessingDetails"),
        kind: MapKind::Json,
        note: "",
    },
    Mapping {
        column: "AutonomousSystemNumber",
        path: Some("properties.autonomousSystemNumber"),
        kind: MapKind::Same,
        note: "int; service-principal table only",
    },
    Mapping {
        column: "ClientCredentialType",
        path: Some("properties.clientCredentialType"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ConditionalAccessAudiences",
        path: Some("properties.conditionalAccessAudiences"),
        kind: MapKind::Json,
        note: "",
    },
    Mapping {
        column: "ConditionalAccessPolicies",
        path: Some("properties.appliedConditionalAccessPolicies"),
        kind: MapKind::Json,
        note: "",
    },
    Mapping {
        column: "ConditionalAccessStatus",
        path: Some("properties.conditionalAccessStatus"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "CreatedDateTime",
        path: Some("properties.createdDateTime"),
        kind: MapKind::Loose,
        note: "`Z` in LA, `+00:00` in diagnostic records",
    },
    Mapping {
        column: "FederatedCredentialId",
        path: Some("properties.federatedCredentialId"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping { column: "Id", path: Some("properties.id"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "IPAddress",
        path: Some("properties.ipAddress"),
        kind: MapKind::Same,
        note: "also envelope `callerIpAddress`; `\"\"`/null for managed identities",
    },
    Mapping { column: "LocationDetails", path: Some("properties.location"), kind: MapKind::Json, note: "" },
    Mapping {
        column: "ManagedServiceIdentity",
        path: Some("properties.managedServiceIdentity"),
        kind: MapKind::Json,
        note: "managed-identity table only",
    },
    Mapping {
        column: "NetworkLocationDetails",
        path: Some("properties.networkLocationDetails"),
        kind: MapKind::Json,
        note: "",
    },
    Mapping {
        column: "ResourceDisplayName",
        path: Some("properties.resourceDisplayName"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping { column: "ResourceIdentity", path: Some("properties.resourceId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ResourceOwnerTenantId",
        path: Some("properties.resourceOwnerTenantId"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ResourceServicePrincipalId",
        path: Some("properties.resourceServicePrincipalId"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ServicePrincipalCredentialKeyId",
        path: Some("properties.servicePrincipalCredentialKeyId"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ServicePrincipalCredentialThumbprint",
        path: Some("properties.servicePrincipalCredentialThumbprint"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ServicePrincipalId",
        path: Some("properties.servicePrincipalId"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ServicePrincipalName",
        path: Some("properties.servicePrincipalName"),
        kind: MapKind::Same,
        note: "also `properties.appDisplayName`",
    },
    Mapping { column: "SessionId", path: Some("properties.sessionId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "SourceAppClientId",
        path: Some("properties.sourceAppClientId"),
        kind: MapKind::Same,
        note: "managed-identity table only",
    },
    Mapping {
        column: "UniqueTokenIdentifier",
        path: Some("properties.uniqueTokenIdentifier"),
        kind: MapKind::Same,
        note: "join key (`uti`); `\"\"`/null on failed sign-ins",
    },
    Mapping { column: "UserAgent", path: Some("properties.userAgent"), kind: MapKind::Same, note: "" },
    Mapping { column: "Agent", path: Some("properties.agent"), kind: MapKind::Json, note: "" },
    Mapping {
        column: "AADTenantId",
        path: Some("tenantId"),
        kind: MapKind::Same,
        note: "also `properties.homeTenantId`",
    },
    Mapping {
        column: "Type",
        path: None,
        kind: MapKind::None,
        note: "from envelope `category` (`ServicePrincipalSignInLogs` / `ManagedIdentitySignInLogs`)",
    },
];

const USER: &[Mapping] = &[
    Mapping { column: "TenantId", path: None, kind: MapKind::None, note: "Log Analytics workspace id" },
    Mapping { column: "SourceSystem", path: None, kind: MapKind::None, note: "" },
    Mapping {
        column: "TimeGenerated",
        path: Some("properties.createdDateTime"),
        kind: MapKind::Loose,
        note: "`+00:00`; envelope `time` is 5 min later",
    },
    Mapping { column: "OperationName", path: Some("operationName"), kind: MapKind::Same, note: "" },
    Mapping { column: "OperationVersion", path: Some("operationVersion"), kind: MapKind::Same, note: "" },
    Mapping { column: "Category", path: Some("category"), kind: MapKind::Same, note: "" },
    Mapping { column: "ResultType", path: Some("resultType"), kind: MapKind::Same, note: "" },
    Mapping { column: "ResultSignature", path: Some("resultSignature"), kind: MapKind::Same, note: "" },
    Mapping { column: "ResultDescription", path: Some("resultDescription"), kind: MapKind::Same, note: "" },
    Mapping { column: "DurationMs", path: Some("durationMs"), kind: MapKind::Same, note: "" },
    Mapping { column: "CorrelationId", path: Some("correlationId"), kind: MapKind::Same, note: "" },
    Mapping { column: "Identity", path: Some("identity"), kind: MapKind::Same, note: "" },
    Mapping { column: "Level", path: Some("level"), kind: MapKind::Same, note: "" },
    Mapping { column: "Location", path: Some("location"), kind: MapKind::Same, note: "" },
    Mapping { column: "AppDisplayName", path: Some("properties.appDisplayName"), kind: MapKind::Same, note: "" },
    Mapping { column: "AppId", path: Some("properties.appId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "AuthenticationRequirement",
        path: Some("properties.authenticationRequirement"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping { column: "ClientAppUsed", path: Some("properties.clientAppUsed"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ConditionalAccessStatus",
        path: Some("properties.conditionalAccessStatus"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "CreatedDateTime",
        path: Some("properties.createdDateTime"),
        kind: MapKind::Loose,
        note: "`+00:00`",
    },
    Mapping { column: "DeviceDetail", path: Some("properties.deviceDetail"), kind: MapKind::Json, note: "" },
    Mapping { column: "Id", path: Some("properties.id"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "IPAddress",
        path: Some("properties.ipAddress"),
        kind: MapKind::Same,
        note: "also envelope `callerIpAddress`",
    },
    Mapping {
        column: "IsInteractive",
        path: Some("properties.isInteractive"),
        kind: MapKind::Loose,
        note: "LA string `True`/`False`, diagnostic bool",
    },
    Mapping { column: "LocationDetails", path: Some("properties.location"), kind: MapKind::Json, note: "" },
    Mapping {
        column: "ResourceDisplayName",
        path: Some("properties.resourceDisplayName"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping { column: "Status", path: Some("properties.status"), kind: MapKind::Json, note: "" },
    Mapping {
        column: "UniqueTokenIdentifier",
        path: Some("properties.uniqueTokenIdentifier"),
        kind: MapKind::Same,
        note: "`\"\"` on failed sign-ins",
    },
    Mapping { column: "UserAgent", path: Some("properties.userAgent"), kind: MapKind::Same, note: "" },
    Mapping { column: "UserDisplayName", path: Some("properties.userDisplayName"), kind: MapKind::Same, note: "" },
    Mapping { column: "UserId", path: Some("properties.userId"), kind: MapKind::Same, note: "" },
    Mapping { column: "UserPrincipalName", path: Some("properties.userPrincipalName"), kind: MapKind::Same, note: "" },
    Mapping { column: "AADTenantId", path: Some("tenantId"), kind: MapKind::Same, note: "" },
    Mapping { column: "Type", path: None, kind: MapKind::None, note: "from envelope `category` (`SignInLogs`)" },
];

const AUDIT: &[Mapping] = &[
    Mapping { column: "TenantId", path: None, kind: MapKind::None, note: "Log Analytics workspace id" },
    Mapping { column: "SourceSystem", path: None, kind: MapKind::None, note: "" },
    Mapping {
        column: "TimeGenerated",
        path: Some("properties.activityDateTime"),
        kind: MapKind::Loose,
        note: "`+00:00`; envelope `time` is 2 min later",
    },
    Mapping { column: "OperationName", path: Some("operationName"), kind: MapKind::Same, note: "" },
    Mapping { column: "OperationVersion", path: Some("operationVersion"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "Category",
        path: Some("properties.category"),
        kind: MapKind::Same,
        note: "envelope `category` is `AuditLogs`",
    },
    Mapping { column: "ResultType", path: Some("resultType"), kind: MapKind::Same, note: "" },
    Mapping { column: "ResultSignature", path: Some("resultSignature"), kind: MapKind::Same, note: "" },
    Mapping { column: "ResultDescription", path: Some("resultDescription"), kind: MapKind::Same, note: "" },
    Mapping { column: "DurationMs", path: Some("durationMs"), kind: MapKind::Same, note: "" },
    Mapping { column: "CorrelationId", path: Some("correlationId"), kind: MapKind::Same, note: "" },
    Mapping { column: "Identity", path: Some("identity"), kind: MapKind::Same, note: "" },
    Mapping { column: "Level", path: Some("level"), kind: MapKind::Loose, note: "LA `4`, diagnostic `Informational`" },
    Mapping { column: "Location", path: Some("location"), kind: MapKind::Same, note: "" },
    Mapping { column: "AdditionalDetails", path: Some("properties.additionalDetails"), kind: MapKind::Json, note: "" },
    Mapping { column: "Id", path: Some("properties.id"), kind: MapKind::Same, note: "" },
    Mapping { column: "InitiatedBy", path: Some("properties.initiatedBy"), kind: MapKind::Json, note: "" },
    Mapping { column: "LoggedByService", path: Some("properties.loggedByService"), kind: MapKind::Same, note: "" },
    Mapping { column: "Result", path: Some("properties.result"), kind: MapKind::Same, note: "" },
    Mapping { column: "ResultReason", path: Some("properties.resultReason"), kind: MapKind::Same, note: "" },
    Mapping { column: "TargetResources", path: Some("properties.targetResources"), kind: MapKind::Json, note: "" },
    Mapping { column: "AADTenantId", path: Some("tenantId"), kind: MapKind::Same, note: "" },
    Mapping {
        column: "ActivityDisplayName",
        path: Some("properties.activityDisplayName"),
        kind: MapKind::Same,
        note: "",
    },
    Mapping {
        column: "ActivityDateTime",
        path: Some("properties.activityDateTime"),
        kind: MapKind::Loose,
        note: "`+00:00`",
    },
    Mapping { column: "AADOperationType", path: Some("properties.operationType"), kind: MapKind::Same, note: "" },
    Mapping { column: "Type", path: None, kind: MapKind::None, note: "from envelope `category` (`AuditLogs`)" },
];
