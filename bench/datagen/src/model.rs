//! Shape-independent events. Rendering them as Log Analytics rows or as
//! diagnostic-settings records is done by `render`.

use crate::time::Ts;
use std::fmt;

/// A GUID, rendered lowercase `8-4-4-4-12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(pub u128);

impl Guid {
    pub fn write(self, buf: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 36];
        let mut nib = 32;
        for (i, slot) in out.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                *slot = b'-';
            } else {
                nib -= 1;
                *slot = HEX[((self.0 >> (nib * 4)) & 0xF) as usize];
            }
        }
        buf.extend_from_slice(&out);
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut b = Vec::with_capacity(36);
        self.write(&mut b);
        f.write_str(std::str::from_utf8(&b).expect("ascii"))
    }
}

/// A value that may be absent. Absent values are written as `""` or as JSON
/// `null`; which one is part of the event, so both shapes agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Maybe<T> {
    Val(T),
    /// Written as `""`.
    Empty,
    /// Written as `null`.
    Null,
}

impl<T> Maybe<T> {
    pub fn is_absent(&self) -> bool {
        !matches!(self, Maybe::Val(_))
    }
    pub fn val(&self) -> Option<&T> {
        match self {
            Maybe::Val(v) => Some(v),
            _ => None,
        }
    }
}

impl Maybe<String> {
    /// The Kusto view of the value: absent is `""`.
    pub fn as_str(&self) -> &str {
        match self {
            Maybe::Val(s) => s,
            _ => "",
        }
    }
}

impl Maybe<Guid> {
    /// The Kusto view of the value: absent is `""`.
    pub fn text(&self) -> String {
        match self {
            Maybe::Val(g) => g.to_string(),
            _ => String::new(),
        }
    }
}

/// The tables (Log Analytics names) the generator writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    MicrosoftGraphActivityLogs,
    AADServicePrincipalSignInLogs,
    AADManagedIdentitySignInLogs,
    SigninLogs,
    AuditLogs,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::MicrosoftGraphActivityLogs,
        Table::AADServicePrincipalSignInLogs,
        Table::AADManagedIdentitySignInLogs,
        Table::SigninLogs,
        Table::AuditLogs,
    ];

    /// Log Analytics table name (the `Type` column).
    pub fn name(self) -> &'static str {
        match self {
            Table::MicrosoftGraphActivityLogs => "MicrosoftGraphActivityLogs",
            Table::AADServicePrincipalSignInLogs => "AADServicePrincipalSignInLogs",
            Table::AADManagedIdentitySignInLogs => "AADManagedIdentitySignInLogs",
            Table::SigninLogs => "SigninLogs",
            Table::AuditLogs => "AuditLogs",
        }
    }

    /// Diagnostic-settings `category`.
    pub fn category(self) -> &'static str {
        match self {
            Table::MicrosoftGraphActivityLogs => "MicrosoftGraphActivityLogs",
            Table::AADServicePrincipalSignInLogs => "ServicePrincipalSignInLogs",
            Table::AADManagedIdentitySignInLogs => "ManagedIdentitySignInLogs",
            Table::SigninLogs => "SignInLogs",
            Table::AuditLogs => "AuditLogs",
        }
    }

    /// File written by `write_split` (SigninLogs and AuditLogs share `Other.json`).
    pub fn file_name(self) -> &'static str {
        match self {
            Table::MicrosoftGraphActivityLogs => "MicrosoftGraphActivityLogs.json",
            Table::AADServicePrincipalSignInLogs => "AADServicePrincipalSignInLogs.json",
            Table::AADManagedIdentitySignInLogs => "AADManagedIdentitySignInLogs.json",
            Table::SigninLogs | Table::AuditLogs => "Other.json",
        }
    }

    /// All Log Analytics columns written for the table, in output order.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::MicrosoftGraphActivityLogs => GRAPH_COLUMNS,
            Table::AADServicePrincipalSignInLogs => SP_SIGNIN_COLUMNS,
            Table::AADManagedIdentitySignInLogs => MI_SIGNIN_COLUMNS,
            Table::SigninLogs => USER_SIGNIN_COLUMNS,
            Table::AuditLogs => AUDIT_COLUMNS,
        }
    }
}

/// Every column of MicrosoftGraphActivityLogs (entra-logs.md §1), output order.
pub const GRAPH_COLUMNS: &[&str] = &[
    "TenantId",
    "TimeGenerated",
    "Location",
    "RequestId",
    "OperationId",
    "ClientRequestId",
    "ApiVersion",
    "RequestMethod",
    "ResponseStatusCode",
    "DurationMs",
    "ResponseSizeBytes",
    "SignInActivityId",
    "IPAddress",
    "UserAgent",
    "RequestUri",
    "AppId",
    "UserId",
    "ServicePrincipalId",
    "TokenIssuedAt",
    "Scopes",
    "Roles",
    "Wids",
    "IdentityProvider",
    "ClientAuthMethod",
    "DeviceId",
    "SessionId",
    "UniqueTokenId",
    "AadTenantId",
    "ATContent",
    "ATContentH",
    "ATContentP",
    "SourceSystem",
    "Type",
];

/// Every column of AADServicePrincipalSignInLogs (entra-logs.md §1), output order.
pub const SP_SIGNIN_COLUMNS: &[&str] = &[
    "TenantId",
    "SourceSystem",
    "TimeGenerated",
    "OperationName",
    "OperationVersion",
    "Category",
    "ResultType",
    "ResultSignature",
    "ResultDescription",
    "DurationMs",
    "CorrelationId",
    "ResourceGroup",
    "Identity",
    "Level",
    "Location",
    "AppId",
    "AppOwnerTenantId",
    "AuthenticationContextClassReferences",
    "AuthenticationProcessingDetails",
    "AutonomousSystemNumber",
    "ClientCredentialType",
    "ConditionalAccessAudiences",
    "ConditionalAccessPolicies",
    "ConditionalAccessStatus",
    "CreatedDateTime",
    "FederatedCredentialId",
    "Id",
    "IPAddress",
    "LocationDetails",
    "NetworkLocationDetails",
    "ResourceDisplayName",
    "ResourceIdentity",
    "ResourceOwnerTenantId",
    "ResourceServicePrincipalId",
    "ServicePrincipalCredentialKeyId",
    "ServicePrincipalCredentialThumbprint",
    "ServicePrincipalId",
    "ServicePrincipalName",
    "SessionId",
    "UniqueTokenIdentifier",
    "UserAgent",
    "Agent",
    "AADTenantId",
    "Type",
];

/// Every column of AADManagedIdentitySignInLogs (entra-logs.md §1), output order.
pub const MI_SIGNIN_COLUMNS: &[&str] = &[
    "TenantId",
    "SourceSystem",
    "TimeGenerated",
    "OperationName",
    "OperationVersion",
    "Category",
    "ResultType",
    "ResultSignature",
    "ResultDescription",
    "DurationMs",
    "CorrelationId",
    "ResourceGroup",
    "Identity",
    "Level",
    "Location",
    "AppId",
    "AppOwnerTenantId",
    "AuthenticationContextClassReferences",
    "AuthenticationProcessingDetails",
    "ClientCredentialType",
    "ConditionalAccessAudiences",
    "ConditionalAccessPolicies",
    "ConditionalAccessStatus",
    "CreatedDateTime",
    "FederatedCredentialId",
    "Id",
    "IPAddress",
    "LocationDetails",
    "ManagedServiceIdentity",
    "NetworkLocationDetails",
    "ResourceDisplayName",
    "ResourceIdentity",
    "ResourceOwnerTenantId",
    "ResourceServicePrincipalId",
    "ServicePrincipalCredentialKeyId",
    "ServicePrincipalCredentialThumbprint",
    "ServicePrincipalId",
    "ServicePrincipalName",
    "SessionId",
    "SourceAppClientId",
    "UniqueTokenIdentifier",
    "UserAgent",
    "Agent",
    "AADTenantId",
    "Type",
];

/// Representative subset of SigninLogs columns (the real table has ~80).
pub const USER_SIGNIN_COLUMNS: &[&str] = &[
    "TenantId",
    "SourceSystem",
    "TimeGenerated",
    "OperationName",
    "OperationVersion",
    "Category",
    "ResultType",
    "ResultSignature",
    "ResultDescription",
    "DurationMs",
    "CorrelationId",
    "Identity",
    "Level",
    "Location",
    "AppDisplayName",
    "AppId",
    "AuthenticationRequirement",
    "ClientAppUsed",
    "ConditionalAccessStatus",
    "CreatedDateTime",
    "DeviceDetail",
    "Id",
    "IPAddress",
    "IsInteractive",
    "LocationDetails",
    "ResourceDisplayName",
    "Status",
    "UniqueTokenIdentifier",
    "UserAgent",
    "UserDisplayName",
    "UserId",
    "UserPrincipalName",
    "AADTenantId",
    "Type",
];

/// Representative subset of AuditLogs columns.
pub const AUDIT_COLUMNS: &[&str] = &[
    "TenantId",
    "SourceSystem",
    "TimeGenerated",
    "OperationName",
    "OperationVersion",
    "Category",
    "ResultType",
    "ResultSignature",
    "ResultDescription",
    "DurationMs",
    "CorrelationId",
    "Identity",
    "Level",
    "Location",
    "AdditionalDetails",
    "Id",
    "InitiatedBy",
    "LoggedByService",
    "Result",
    "ResultReason",
    "TargetResources",
    "AADTenantId",
    "ActivityDisplayName",
    "ActivityDateTime",
    "AADOperationType",
    "Type",
];

/// Ground truth: why the generator made the event. Not written to any file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// Workload calls Graph from the IP its token was issued to.
    Normal,
    /// Token replayed from an attacker address (185.220.x / 45.155.x / 2a0b:f4c0::).
    Stolen,
    /// Workload behind a NAT pool (51.x.y.z, 2-3 addresses): sign-in and Graph egress differ.
    NatPool,
    /// Managed identity: sign-in `IPAddress` is `""`/null.
    ManagedIdentity,
    /// Token issued over IPv6, Graph called over IPv4.
    DualStack,
    /// IPv6 on both sides (same text).
    Ipv6,
    /// Graph IP is the IPv4-mapped form `::ffff:a.b.c.d` of the sign-in IP.
    Ipv4Mapped,
    /// Token whose uti differs from the previous token's only by letter case.
    CaseTwin,
    /// Stolen token whose Graph calls sit on the `now - 30d` and status-code boundaries.
    Boundary,
    /// Graph call whose SignInActivityId matches no service-principal/MI sign-in.
    NoSignIn,
    /// Graph call made with a user (delegated) token; its uti is in SigninLogs.
    Delegated,
    /// Graph call with an empty or null SignInActivityId.
    EmptyActivityId,
    /// Failed service-principal sign-in: no token, empty UniqueTokenIdentifier.
    FailedSignIn,
    /// Rows of other tables.
    OtherTable,
}

/// One Microsoft Graph API request (MicrosoftGraphActivityLogs).
#[derive(Clone, Debug)]
pub struct GraphCall {
    pub time: Ts,
    pub token_issued_at: Ts,
    pub workspace_id: Guid,
    pub tenant_id: Guid,
    pub location: &'static str,
    pub request_id: Guid,
    pub operation_id: Guid,
    pub client_request_id: Guid,
    pub api_version: &'static str,
    pub request_method: &'static str,
    pub response_status_code: i32,
    pub duration_ms: u32,
    pub response_size_bytes: u32,
    pub sign_in_activity_id: Maybe<String>,
    pub ip_address: String,
    pub user_agent: &'static str,
    pub request_uri: String,
    pub app_id: Guid,
    pub user_id: Maybe<Guid>,
    pub service_principal_id: Maybe<Guid>,
    pub scopes: &'static str,
    pub roles: &'static str,
    pub wids: &'static str,
    pub client_auth_method: u8,
    pub device_id: Maybe<Guid>,
    pub session_id: Maybe<Guid>,
    /// `C_Idtyp` in the diagnostic record: `app` or `user`.
    pub id_type: &'static str,
    /// Diagnostic shape writes `clientAuthMethod` as a string (`"2"`).
    pub diag_auth_method_as_string: bool,
    /// Diagnostic shape writes `level` as `"4"` instead of `"Informational"`.
    pub diag_level_numeric: bool,
    /// Absent-but-not-hunt columns written as `null` rather than `""`.
    pub nulls: bool,
    pub scenario: Scenario,
}

/// Static place data used for sign-in locations.
#[derive(Clone, Copy, Debug)]
pub struct Place {
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub latitude: &'static str,
    pub longitude: &'static str,
}

/// One token issuance to a service principal or managed identity.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// Managed identity (AADManagedIdentitySignInLogs) rather than service principal.
    pub managed: bool,
    /// `CreatedDateTime`; also the Log Analytics `TimeGenerated`.
    pub time: Ts,
    /// Diagnostic envelope `time` (later than `time`; differs per delivery).
    pub envelope_time: Ts,
    /// 1 for the first delivery, 2..=4 for duplicate deliveries.
    pub delivery: u8,
    pub workspace_id: Guid,
    pub tenant_id: Guid,
    pub id: Guid,
    pub correlation_id: Guid,
    pub app_id: Guid,
    pub service_principal_id: Guid,
    pub service_principal_name: String,
    pub credential_key_id: Maybe<Guid>,
    pub credential_thumbprint: Maybe<String>,
    pub client_credential_type: &'static str,
    pub federated_credential_id: Maybe<Guid>,
    pub ip_address: Maybe<String>,
    /// The token's `uti`; absent on failed sign-ins (no token was issued).
    pub unique_token_identifier: Maybe<String>,
    /// `"0"` on success, an AADSTS code such as `"7000215"` on failure.
    pub result_type: &'static str,
    pub result_description: &'static str,
    pub place: Option<Place>,
    pub asn: u32,
    pub resource_service_principal_id: Guid,
    pub session_id: Maybe<Guid>,
    pub auth_library: &'static str,
    pub msi_type: &'static str,
    pub msi_resource_id: String,
    pub diag_level_numeric: bool,
    pub nulls: bool,
    pub scenario: Scenario,
}

/// An interactive user sign-in (SigninLogs).
#[derive(Clone, Debug)]
pub struct UserSignIn {
    pub time: Ts,
    pub workspace_id: Guid,
    pub tenant_id: Guid,
    pub id: Guid,
    pub correlation_id: Guid,
    pub user_id: Guid,
    pub user_principal_name: String,
    pub user_display_name: String,
    pub app_id: Guid,
    pub app_display_name: &'static str,
    pub ip_address: String,
    pub unique_token_identifier: String,
    pub place: Place,
    pub user_agent: &'static str,
    pub result_type: &'static str,
    pub interactive: bool,
}

/// A directory audit event (AuditLogs).
#[derive(Clone, Debug)]
pub struct Audit {
    pub time: Ts,
    pub workspace_id: Guid,
    pub tenant_id: Guid,
    pub id: String,
    pub correlation_id: Guid,
    pub activity: &'static str,
    pub category: &'static str,
    pub operation_type: &'static str,
    pub logged_by_service: &'static str,
    pub actor_name: String,
    pub actor_service_principal_id: Guid,
    pub actor_app_id: Guid,
    pub target_id: Guid,
    pub target_name: String,
    pub target_type: &'static str,
    pub ip_address: Maybe<String>,
    pub result: &'static str,
}

/// One generated record, before rendering.
#[derive(Clone, Debug)]
pub enum Event {
    Graph(GraphCall),
    SignIn(SignIn),
    UserSignIn(UserSignIn),
    Audit(Audit),
}

impl Event {
    pub fn table(&self) -> Table {
        match self {
            Event::Graph(_) => Table::MicrosoftGraphActivityLogs,
            Event::SignIn(s) if s.managed => Table::AADManagedIdentitySignInLogs,
            Event::SignIn(_) => Table::AADServicePrincipalSignInLogs,
            Event::UserSignIn(_) => Table::SigninLogs,
            Event::Audit(_) => Table::AuditLogs,
        }
    }

    /// Log Analytics `TimeGenerated`.
    pub fn time(&self) -> Ts {
        match self {
            Event::Graph(g) => g.time,
            Event::SignIn(s) => s.time,
            Event::UserSignIn(u) => u.time,
            Event::Audit(a) => a.time,
        }
    }

    pub fn scenario(&self) -> Scenario {
        match self {
            Event::Graph(g) => g.scenario,
            Event::SignIn(s) => s.scenario,
            _ => Scenario::OtherTable,
        }
    }
}
