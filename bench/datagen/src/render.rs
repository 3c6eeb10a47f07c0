//! Rendering events as Log Analytics rows (flat columns) or as
//! diagnostic-settings records (envelope + camelCase `properties`).
//!
//! Dynamic columns are JSON-encoded strings in the Log Analytics shape (as the
//! Log Analytics query API and its exports return them) and nested JSON in the
//! diagnostic shape (as Entra writes them to storage / Event Hubs).

use crate::Shape;
use crate::generator::graph_app_id;
use crate::model::*;
use crate::time::{Ts, Zone};

const SOURCE_SYSTEM: &str = "Azure AD";
const MICROSOFT_TENANT: Guid = Guid(0xf8cdef31_a31e_4b4a_93e4_5f571e91255a);

/// Appends `s` as a JSON string literal.
pub fn write_json_str(b: &mut Vec<u8>, s: &str) {
    b.push(b'"');
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\') {
        b.extend_from_slice(bytes);
    } else {
        for &c in bytes {
            match c {
                b'"' => b.extend_from_slice(b"\\\""),
                b'\\' => b.extend_from_slice(b"\\\\"),
                b'\n' => b.extend_from_slice(b"\\n"),
                b'\r' => b.extend_from_slice(b"\\r"),
                b'\t' => b.extend_from_slice(b"\\t"),
                0..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    b.extend_from_slice(b"\\u00");
                    b.push(HEX[(c >> 4) as usize]);
                    b.push(HEX[(c & 15) as usize]);
                }
                _ => b.push(c),
            }
        }
    }
    b.push(b'"');
}

fn write_int(b: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        b.push(b'-');
    }
    b.extend_from_slice(&tmp[i..]);
}

/// Minimal streaming JSON object writer.
struct Obj<'a> {
    b: &'a mut Vec<u8>,
    started: bool,
}

impl<'a> Obj<'a> {
    fn begin(b: &'a mut Vec<u8>) -> Obj<'a> {
        b.push(b'{');
        Obj { b, started: false }
    }
    fn end(self) {
        self.b.push(b'}');
    }
    fn key(&mut self, k: &str) {
        if self.started {
            self.b.push(b',');
        }
        self.started = true;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
    }
    fn s(&mut self, k: &str, v: &str) {
        self.key(k);
        write_json_str(self.b, v);
    }
    /// A string that is written as `null` when empty and `nulls` is set.
    fn so(&mut self, k: &str, v: &str, nulls: bool) {
        if v.is_empty() && nulls {
            self.null(k);
        } else {
            self.s(k, v);
        }
    }
    fn null(&mut self, k: &str) {
        self.key(k);
        self.b.extend_from_slice(b"null");
    }
    fn ms(&mut self, k: &str, v: &Maybe<String>) {
        match v {
            Maybe::Val(s) => self.s(k, s),
            Maybe::Empty => self.s(k, ""),
            Maybe::Null => self.null(k),
        }
    }
    fn g(&mut self, k: &str, v: Guid) {
        self.key(k);
        self.b.push(b'"');
        v.write(self.b);
        self.b.push(b'"');
    }
    /// Optional GUID; `Empty` becomes `null` when `nulls` is set.
    fn mg(&mut self, k: &str, v: &Maybe<Guid>, nulls: bool) {
        match v {
            Maybe::Val(g) => self.g(k, *g),
            Maybe::Empty if !nulls => self.s(k, ""),
            _ => self.null(k),
        }
    }
    fn i(&mut self, k: &str, v: i64) {
        self.key(k);
        write_int(self.b, v);
    }
    fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.b.extend_from_slice(if v { b"true" } else { b"false" });
    }
    fn t(&mut self, k: &str, v: Ts, z: Zone) {
        self.key(k);
        self.b.push(b'"');
        v.write(self.b, z);
        self.b.push(b'"');
    }
    fn raw(&mut self, k: &str, json: &str) {
        self.key(k);
        self.b.extend_from_slice(json.as_bytes());
    }
    /// A dynamic value: a JSON-encoded string (LA) or nested JSON (diagnostic).
    fn dynamic(&mut self, k: &str, la: bool, f: impl FnOnce(&mut Vec<u8>)) {
        self.key(k);
        if la {
            let mut tmp = Vec::with_capacity(128);
            f(&mut tmp);
            write_json_str(self.b, std::str::from_utf8(&tmp).expect("utf-8"));
        } else {
            f(self.b);
        }
    }
    fn obj(&mut self, k: &str, f: impl FnOnce(&mut Obj<'_>)) {
        self.key(k);
        let mut o = Obj::begin(self.b);
        f(&mut o);
        o.end();
    }
}

fn guid_str(g: Guid) -> String {
    g.to_string()
}

/// Appends one record (and its line ending) for `ev` in `shape`.
pub fn render(ev: &Event, shape: Shape, crlf: bool, b: &mut Vec<u8>) {
    match (ev, shape) {
        (Event::Graph(g), Shape::LogAnalytics) => graph_la(g, b),
        (Event::Graph(g), Shape::Diagnostic) => graph_diag(g, b),
        (Event::SignIn(s), Shape::LogAnalytics) => signin_la(s, b),
        (Event::SignIn(s), Shape::Diagnostic) => signin_diag(s, b),
        (Event::UserSignIn(u), Shape::LogAnalytics) => user_la(u, b),
        (Event::UserSignIn(u), Shape::Diagnostic) => user_diag(u, b),
        (Event::Audit(a), Shape::LogAnalytics) => audit_la(a, b),
        (Event::Audit(a), Shape::Diagnostic) => audit_diag(a, b),
    }
    if crlf {
        b.push(b'\r');
    }
    b.push(b'\n');
}

fn identity_provider(tenant: Guid) -> String {
    format!("https://sts.windows.net/{tenant}/")
}

fn graph_la(g: &GraphCall, b: &mut Vec<u8>) {
    let n = g.nulls;
    let mut o = Obj::begin(b);
    o.g("TenantId", g.workspace_id);
    o.t("TimeGenerated", g.time, Zone::Z);
    o.s("Location", g.location);
    o.g("RequestId", g.request_id);
    o.g("OperationId", g.operation_id);
    o.g("ClientRequestId", g.client_request_id);
    o.s("ApiVersion", g.api_version);
    o.s("RequestMethod", g.request_method);
    o.i("ResponseStatusCode", g.response_status_code as i64);
    o.i("DurationMs", g.duration_ms as i64);
    o.i("ResponseSizeBytes", g.response_size_bytes as i64);
    o.ms("SignInActivityId", &g.sign_in_activity_id);
    o.s("IPAddress", &g.ip_address);
    o.so("UserAgent", g.user_agent, n);
    o.s("RequestUri", &g.request_uri);
    o.g("AppId", g.app_id);
    o.mg("UserId", &g.user_id, n);
    o.mg("ServicePrincipalId", &g.service_principal_id, n);
    o.t("TokenIssuedAt", g.token_issued_at, Zone::Z);
    o.so("Scopes", g.scopes, n);
    o.so("Roles", g.roles, n);
    o.so("Wids", g.wids, n);
    o.s("IdentityProvider", &identity_provider(g.tenant_id));
    o.i("ClientAuthMethod", g.client_auth_method as i64);
    o.mg("DeviceId", &g.device_id, n);
    o.mg("SessionId", &g.session_id, n);
    o.ms("UniqueTokenId", &g.sign_in_activity_id);
    o.g("AadTenantId", g.tenant_id);
    o.so("ATContent", "", n);
    o.so("ATContentH", "", n);
    o.so("ATContentP", "", n);
    o.s("SourceSystem", SOURCE_SYSTEM);
    o.s("Type", "MicrosoftGraphActivityLogs");
    o.end();
}

fn graph_diag(g: &GraphCall, b: &mut Vec<u8>) {
    let n = g.nulls;
    let mut o = Obj::begin(b);
    o.t("time", g.time, Zone::Z);
    o.s("resourceId", &format!("/TENANTS/{}/PROVIDERS/MICROSOFT.AADIAM", guid_str(g.tenant_id).to_uppercase()));
    o.g("tenantId", g.tenant_id);
    o.s("operationName", "Microsoft Graph Activity");
    o.s("operationVersion", g.api_version);
    o.s("category", "MicrosoftGraphActivityLogs");
    o.so("resultType", "", n);
    o.s("resultSignature", &g.response_status_code.to_string());
    o.so("resultDescription", "", n);
    o.s("durationMs", &g.duration_ms.to_string());
    o.s("callerIpAddress", &g.ip_address);
    o.g("correlationId", g.client_request_id);
    o.so("identity", "", n);
    o.s("level", if g.diag_level_numeric { "4" } else { "Informational" });
    o.s("location", g.location);
    o.obj("properties", |p| {
        p.t("timeGenerated", g.time, Zone::Z);
        p.s("location", g.location);
        p.g("requestId", g.request_id);
        p.g("operationId", g.operation_id);
        p.g("clientRequestId", g.client_request_id);
        p.s("apiVersion", g.api_version);
        p.s("requestMethod", g.request_method);
        p.i("responseStatusCode", g.response_status_code as i64);
        p.g("tenantId", g.tenant_id);
        p.i("durationMs", g.duration_ms as i64);
        p.i("responseSizeBytes", g.response_size_bytes as i64);
        p.ms("signInActivityId", &g.sign_in_activity_id);
        p.so("roles", g.roles, n);
        p.t("tokenIssuedAt", g.token_issued_at, Zone::Z);
        p.g("appId", g.app_id);
        p.mg("userId", &g.user_id, n);
        p.mg("servicePrincipalId", &g.service_principal_id, n);
        p.so("scopes", g.scopes, n);
        p.s("identityProvider", &identity_provider(g.tenant_id));
        if g.diag_auth_method_as_string {
            p.s("clientAuthMethod", &g.client_auth_method.to_string());
        } else {
            p.i("clientAuthMethod", g.client_auth_method as i64);
        }
        p.so("wids", g.wids, n);
        p.s("requestUri", &g.request_uri);
        p.s("ipAddress", &g.ip_address);
        p.so("userAgent", g.user_agent, n);
        p.mg("sessionId", &g.session_id, n);
        p.mg("deviceId", &g.device_id, n);
        p.ms("uniqueTokenId", &g.sign_in_activity_id);
        p.so("atContent", "", n);
        p.so("atContentH", "", n);
        p.so("atContentP", "", n);
        p.s("C_Idtyp", g.id_type);
        p.mg("UserPrincipalObjectID", &g.user_id, n);
    });
    o.end();
}

fn location_details(place: Option<Place>, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    if let Some(p) = place {
        o.s("city", p.city);
        o.s("state", p.state);
        o.s("countryOrRegion", p.country);
        o.obj("geoCoordinates", |g| {
            g.raw("latitude", p.latitude);
            g.raw("longitude", p.longitude);
        });
    }
    o.end();
}

fn auth_details(lib: &str, b: &mut Vec<u8>) {
    b.push(b'[');
    let mut o = Obj::begin(b);
    o.s("key", "Azure AD App Authentication Library");
    o.s("value", lib);
    o.end();
    b.extend_from_slice(b",");
    let mut o = Obj::begin(b);
    o.s("key", "Is CAE Token");
    o.s("value", "False");
    o.end();
    b.push(b']');
}

fn audiences(b: &mut Vec<u8>) {
    b.extend_from_slice(b"[\"");
    graph_app_id().write(b);
    b.extend_from_slice(b"\"]");
}

fn agent(b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.s("agentType", "notAgentic");
    o.s("agentSubjectType", "notAgentic");
    o.end();
}

fn msi(s: &SignIn, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.s("msiType", s.msi_type);
    o.s("associatedResourceId", &s.msi_resource_id);
    o.null("federatedTokenId");
    o.null("federatedTokenIssuer");
    o.end();
}

fn result_signature(s: &SignIn) -> &'static str {
    if s.result_type == "0" { "SUCCESS" } else { "FAILURE" }
}

fn signin_la(s: &SignIn, b: &mut Vec<u8>) {
    let n = s.nulls;
    let la = true;
    let mut o = Obj::begin(b);
    o.g("TenantId", s.workspace_id);
    o.s("SourceSystem", SOURCE_SYSTEM);
    o.t("TimeGenerated", s.time, Zone::Z);
    o.s("OperationName", "Sign-in activity");
    o.s("OperationVersion", "1.0");
    o.s("Category", if s.managed { "ManagedIdentitySignInLogs" } else { "ServicePrincipalSignInLogs" });
    o.s("ResultType", s.result_type);
    o.s("ResultSignature", result_signature(s));
    o.so("ResultDescription", s.result_description, n);
    o.i("DurationMs", 0);
    o.g("CorrelationId", s.correlation_id);
    o.s("ResourceGroup", "Microsoft.aadiam");
    o.s("Identity", &s.service_principal_name);
    o.s("Level", "4");
    o.so("Location", s.place.map(|p| p.country).unwrap_or(""), n);
    o.g("AppId", s.app_id);
    o.g("AppOwnerTenantId", s.tenant_id);
    o.s("AuthenticationContextClassReferences", "[]");
    o.dynamic("AuthenticationProcessingDetails", la, |b| auth_details(s.auth_library, b));
    if !s.managed {
        o.i("AutonomousSystemNumber", s.asn as i64);
    }
    o.s("ClientCredentialType", s.client_credential_type);
    o.dynamic("ConditionalAccessAudiences", la, audiences);
    o.s("ConditionalAccessPolicies", "[]");
    o.s("ConditionalAccessStatus", "notApplied");
    o.t("CreatedDateTime", s.time, Zone::Z);
    o.mg("FederatedCredentialId", &s.federated_credential_id, n);
    o.g("Id", s.id);
    o.ms("IPAddress", &s.ip_address);
    o.dynamic("LocationDetails", la, |b| location_details(s.place, b));
    if s.managed {
        o.dynamic("ManagedServiceIdentity", la, |b| msi(s, b));
    }
    o.s("NetworkLocationDetails", "[]");
    o.s("ResourceDisplayName", "Microsoft Graph");
    o.g("ResourceIdentity", graph_app_id());
    o.g("ResourceOwnerTenantId", MICROSOFT_TENANT);
    o.g("ResourceServicePrincipalId", s.resource_service_principal_id);
    o.mg("ServicePrincipalCredentialKeyId", &s.credential_key_id, false);
    o.ms("ServicePrincipalCredentialThumbprint", &s.credential_thumbprint);
    o.g("ServicePrincipalId", s.service_principal_id);
    o.s("ServicePrincipalName", &s.service_principal_name);
    o.mg("SessionId", &s.session_id, n);
    if s.managed {
        o.so("SourceAppClientId", "", n);
    }
    o.ms("UniqueTokenIdentifier", &s.unique_token_identifier);
    o.so("UserAgent", "", n);
    o.dynamic("Agent", la, agent);
    o.g("AADTenantId", s.tenant_id);
    o.s("Type", if s.managed { "AADManagedIdentitySignInLogs" } else { "AADServicePrincipalSignInLogs" });
    o.end();
}

fn signin_diag(s: &SignIn, b: &mut Vec<u8>) {
    let n = s.nulls;
    let la = false;
    let mut o = Obj::begin(b);
    o.t("time", s.envelope_time, Zone::Z);
    o.s("resourceId", &format!("/tenants/{}/providers/Microsoft.aadiam", s.tenant_id));
    o.g("tenantId", s.tenant_id);
    o.s("operationName", "Sign-in activity");
    o.s("operationVersion", "1.0");
    o.s("category", if s.managed { "ManagedIdentitySignInLogs" } else { "ServicePrincipalSignInLogs" });
    o.s("resultType", s.result_type);
    o.s("resultSignature", result_signature(s));
    o.so("resultDescription", s.result_description, n);
    o.i("durationMs", 0);
    o.ms("callerIpAddress", &s.ip_address);
    o.g("correlationId", s.correlation_id);
    o.s("identity", &s.service_principal_name);
    o.s("level", if s.diag_level_numeric { "4" } else { "Informational" });
    o.so("location", s.place.map(|p| p.country).unwrap_or(""), n);
    o.obj("properties", |p| {
        p.g("id", s.id);
        p.t("createdDateTime", s.time, Zone::Offset);
        p.g("appId", s.app_id);
        p.s("appDisplayName", &s.service_principal_name);
        p.ms("ipAddress", &s.ip_address);
        p.obj("status", |st| {
            st.raw("errorCode", s.result_type);
            if !s.result_description.is_empty() {
                st.s("failureReason", s.result_description);
            }
        });
        p.dynamic("location", la, |b| location_details(s.place, b));
        p.g("servicePrincipalId", s.service_principal_id);
        p.s("servicePrincipalName", &s.service_principal_name);
        p.mg("servicePrincipalCredentialKeyId", &s.credential_key_id, false);
        p.ms("servicePrincipalCredentialThumbprint", &s.credential_thumbprint);
        p.s("clientCredentialType", s.client_credential_type);
        p.mg("federatedCredentialId", &s.federated_credential_id, n);
        p.s("resourceDisplayName", "Microsoft Graph");
        p.g("resourceId", graph_app_id());
        p.g("resourceServicePrincipalId", s.resource_service_principal_id);
        p.g("resourceOwnerTenantId", MICROSOFT_TENANT);
        p.g("homeTenantId", s.tenant_id);
        p.g("appOwnerTenantId", s.tenant_id);
        p.ms("uniqueTokenIdentifier", &s.unique_token_identifier);
        p.g("correlationId", s.correlation_id);
        p.mg("sessionId", &s.session_id, n);
        p.s("conditionalAccessStatus", "notApplied");
        p.raw("appliedConditionalAccessPolicies", "[]");
        p.dynamic("conditionalAccessAudiences", la, audiences);
        p.dynamic("authenticationProcessingDetails", la, |b| auth_details(s.auth_library, b));
        p.raw("networkLocationDetails", "[]");
        p.raw("authenticationContextClassReferences", "[]");
        if s.managed {
            p.dynamic("managedServiceIdentity", la, |b| msi(s, b));
            p.so("sourceAppClientId", "", n);
        } else {
            p.i("autonomousSystemNumber", s.asn as i64);
        }
        p.so("userAgent", "", n);
        p.dynamic("agent", la, agent);
    });
    o.end();
}

fn device_detail(u: &UserSignIn, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.s("deviceId", "");
    o.s(
        "operatingSystem",
        if u.user_agent.contains("iPhone") {
            "Ios"
        } else if u.user_agent.contains("Macintosh") {
            "MacOs"
        } else {
            "Windows10"
        },
    );
    o.s("browser", if u.user_agent.contains("Edg/") { "Edge 125.0.0" } else { "Safari 17.4" });
    o.end();
}

fn user_status(u: &UserSignIn, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.raw("errorCode", u.result_type);
    if u.result_type == "50126" {
        o.s("failureReason", "Error validating credentials due to invalid username or password.");
    }
    o.end();
}

fn user_la(u: &UserSignIn, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.g("TenantId", u.workspace_id);
    o.s("SourceSystem", SOURCE_SYSTEM);
    o.t("TimeGenerated", u.time, Zone::Z);
    o.s("OperationName", "Sign-in activity");
    o.s("OperationVersion", "1.0");
    o.s("Category", "SignInLogs");
    o.s("ResultType", u.result_type);
    o.s("ResultSignature", "None");
    o.s("ResultDescription", "");
    o.i("DurationMs", 0);
    o.g("CorrelationId", u.correlation_id);
    o.s("Identity", &u.user_display_name);
    o.s("Level", "4");
    o.s("Location", u.place.country);
    o.s("AppDisplayName", u.app_display_name);
    o.g("AppId", u.app_id);
    o.s("AuthenticationRequirement", "singleFactorAuthentication");
    o.s("ClientAppUsed", "Browser");
    o.s("ConditionalAccessStatus", "success");
    o.t("CreatedDateTime", u.time, Zone::Z);
    o.dynamic("DeviceDetail", true, |b| device_detail(u, b));
    o.g("Id", u.id);
    o.s("IPAddress", &u.ip_address);
    o.s("IsInteractive", if u.interactive { "True" } else { "False" });
    o.dynamic("LocationDetails", true, |b| location_details(Some(u.place), b));
    o.s("ResourceDisplayName", "Microsoft Graph");
    o.dynamic("Status", true, |b| user_status(u, b));
    o.s("UniqueTokenIdentifier", &u.unique_token_identifier);
    o.s("UserAgent", u.user_agent);
    o.s("UserDisplayName", &u.user_display_name);
    o.g("UserId", u.user_id);
    o.s("UserPrincipalName", &u.user_principal_name);
    o.g("AADTenantId", u.tenant_id);
    o.s("Type", "SigninLogs");
    o.end();
}

fn user_diag(u: &UserSignIn, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.t("time", Ts(u.time.0 + 3_000_000_000), Zone::Z);
    o.s("resourceId", &format!("/tenants/{}/providers/Microsoft.aadiam", u.tenant_id));
    o.g("tenantId", u.tenant_id);
    o.s("operationName", "Sign-in activity");
    o.s("operationVersion", "1.0");
    o.s("category", "SignInLogs");
    o.s("resultType", u.result_type);
    o.s("resultSignature", "None");
    o.s("resultDescription", "");
    o.i("durationMs", 0);
    o.s("callerIpAddress", &u.ip_address);
    o.g("correlationId", u.correlation_id);
    o.s("identity", &u.user_display_name);
    o.s("level", "4");
    o.s("location", u.place.country);
    o.obj("properties", |p| {
        p.g("id", u.id);
        p.t("createdDateTime", u.time, Zone::Offset);
        p.s("userDisplayName", &u.user_display_name);
        p.s("userPrincipalName", &u.user_principal_name);
        p.g("userId", u.user_id);
        p.g("appId", u.app_id);
        p.s("appDisplayName", u.app_display_name);
        p.s("ipAddress", &u.ip_address);
        p.s("clientAppUsed", "Browser");
        p.s("userAgent", u.user_agent);
        p.bool("isInteractive", u.interactive);
        p.dynamic("status", false, |b| user_status(u, b));
        p.dynamic("location", false, |b| location_details(Some(u.place), b));
        p.dynamic("deviceDetail", false, |b| device_detail(u, b));
        p.s("uniqueTokenIdentifier", &u.unique_token_identifier);
        p.s("conditionalAccessStatus", "success");
        p.s("authenticationRequirement", "singleFactorAuthentication");
        p.s("resourceDisplayName", "Microsoft Graph");
    });
    o.end();
}

fn initiated_by(a: &Audit, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.obj("app", |app| {
        app.g("appId", a.actor_app_id);
        app.s("displayName", &a.actor_name);
        app.g("servicePrincipalId", a.actor_service_principal_id);
        app.s("servicePrincipalName", &a.actor_name);
    });
    o.end();
}

fn target_resources(a: &Audit, b: &mut Vec<u8>) {
    b.push(b'[');
    let mut o = Obj::begin(b);
    o.g("id", a.target_id);
    o.s("displayName", &a.target_name);
    o.s("type", a.target_type);
    o.raw("modifiedProperties", "[]");
    o.end();
    b.push(b']');
}

fn additional_details(b: &mut Vec<u8>) {
    b.extend_from_slice(br#"[{"key":"User-Agent","value":"python-requests/2.31.0"}]"#);
}

fn audit_la(a: &Audit, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.g("TenantId", a.workspace_id);
    o.s("SourceSystem", SOURCE_SYSTEM);
    o.t("TimeGenerated", a.time, Zone::Z);
    o.s("OperationName", a.activity);
    o.s("OperationVersion", "1.0");
    o.s("Category", a.category);
    o.s("ResultType", "");
    o.s("ResultSignature", "None");
    o.s("ResultDescription", "");
    o.i("DurationMs", 0);
    o.g("CorrelationId", a.correlation_id);
    o.s("Identity", &a.actor_name);
    o.s("Level", "4");
    o.s("Location", "");
    o.dynamic("AdditionalDetails", true, additional_details);
    o.s("Id", &a.id);
    o.dynamic("InitiatedBy", true, |b| initiated_by(a, b));
    o.s("LoggedByService", a.logged_by_service);
    o.s("Result", a.result);
    o.s("ResultReason", "");
    o.dynamic("TargetResources", true, |b| target_resources(a, b));
    o.g("AADTenantId", a.tenant_id);
    o.s("ActivityDisplayName", a.activity);
    o.t("ActivityDateTime", a.time, Zone::Z);
    o.s("AADOperationType", a.operation_type);
    o.s("Type", "AuditLogs");
    o.end();
}

fn audit_diag(a: &Audit, b: &mut Vec<u8>) {
    let mut o = Obj::begin(b);
    o.t("time", Ts(a.time.0 + 1_200_000_000), Zone::Z);
    o.s("resourceId", &format!("/tenants/{}/providers/Microsoft.aadiam", a.tenant_id));
    o.g("tenantId", a.tenant_id);
    o.s("operationName", a.activity);
    o.s("operationVersion", "1.0");
    o.s("category", "AuditLogs");
    o.s("resultType", "");
    o.s("resultSignature", "None");
    o.s("resultDescription", "");
    o.i("durationMs", 0);
    o.ms("callerIpAddress", &a.ip_address);
    o.g("correlationId", a.correlation_id);
    o.s("identity", &a.actor_name);
    o.s("level", "Informational");
    o.s("location", "");
    o.obj("properties", |p| {
        p.s("id", &a.id);
        p.s("category", a.category);
        p.g("correlationId", a.correlation_id);
        p.s("result", a.result);
        p.s("resultReason", "");
        p.s("activityDisplayName", a.activity);
        p.t("activityDateTime", a.time, Zone::Offset);
        p.s("loggedByService", a.logged_by_service);
        p.s("operationType", a.operation_type);
        p.dynamic("initiatedBy", false, |b| initiated_by(a, b));
        p.dynamic("targetResources", false, |b| target_resources(a, b));
        p.dynamic("additionalDetails", false, additional_details);
    });
    o.end();
}
