//! Reference implementation of the shipped T1528 hunt over generated events,
//! for checking an engine's output:
//!
//! ```kusto
//! MicrosoftGraphActivityLogs
//! | where TimeGenerated > ago(30d)
//! | where ResponseStatusCode between (100 .. 300)
//! | lookup kind=inner (union AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs)
//!     on $left.SignInActivityId == $right.UniqueTokenIdentifier
//! | extend SigninInIPAddress = IPAddress1, ActivityIPAddress = IPAddress
//! | where isnotempty(SigninInIPAddress)
//! | where SigninInIPAddress != ActivityIPAddress
//! | project-away *1
//! | project TimeGenerated, ServicePrincipalName, SigninInIPAddress, ActivityIPAddress,
//!           ServicePrincipalId, ServicePrincipalCredentialKeyId, RequestUri, RequestMethod
//! ```
//!
//! with `now()` = the dataset's `now`. Case-sensitive join, never on an empty
//! key, duplicate sign-in rows multiply output rows, absent strings are `""`.

use crate::generator::Dataset;
use crate::model::{Event, Maybe};
use crate::time::{TICKS_PER_DAY, Zone};
use std::collections::HashMap;

/// One output row of the hunt; every column as Kusto text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alert {
    pub time_generated: String,
    pub service_principal_name: String,
    pub signin_in_ip_address: String,
    pub activity_ip_address: String,
    pub service_principal_id: String,
    pub service_principal_credential_key_id: String,
    pub request_uri: String,
    pub request_method: String,
}

/// All alerts the shipped rule must produce on `ds`, sorted.
pub fn reference_alerts(ds: &Dataset) -> Vec<Alert> {
    // (ip, name, key id) per sign-in row, by uti.
    let mut right: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for ev in ds.events() {
        if let Event::SignIn(s) = ev {
            let Maybe::Val(uti) = &s.unique_token_identifier else {
                continue;
            };
            if uti.is_empty() {
                continue;
            }
            right.entry(uti.clone()).or_default().push((
                s.ip_address.as_str().to_string(),
                s.service_principal_name.clone(),
                s.credential_key_id.text(),
            ));
        }
    }
    let cutoff = ds.now().0 - 30 * TICKS_PER_DAY;
    let mut out = Vec::new();
    for ev in ds.events() {
        let Event::Graph(g) = ev else { continue };
        if g.time.0 <= cutoff || !(100..=300).contains(&g.response_status_code) {
            continue;
        }
        let Maybe::Val(key) = &g.sign_in_activity_id else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        let Some(rows) = right.get(key) else { continue };
        for (ip, name, key_id) in rows {
            if ip.is_empty() || *ip == g.ip_address {
                continue;
            }
            out.push(Alert {
                time_generated: g.time.format(Zone::Z),
                service_principal_name: name.clone(),
                signin_in_ip_address: ip.clone(),
                activity_ip_address: g.ip_address.clone(),
                service_principal_id: g.service_principal_id.text(),
                service_principal_credential_key_id: key_id.clone(),
                request_uri: g.request_uri.clone(),
                request_method: g.request_method.to_string(),
            });
        }
    }
    out.sort();
    out
}

impl Alert {
    /// The column names, in the rule's `project` order.
    pub const COLUMNS: [&'static str; 8] = [
        "TimeGenerated",
        "ServicePrincipalName",
        "SigninInIPAddress",
        "ActivityIPAddress",
        "ServicePrincipalId",
        "ServicePrincipalCredentialKeyId",
        "RequestUri",
        "RequestMethod",
    ];

    /// The values, in [`Alert::COLUMNS`] order.
    pub fn values(&self) -> [&str; 8] {
        [
            &self.time_generated,
            &self.service_principal_name,
            &self.signin_in_ip_address,
            &self.activity_ip_address,
            &self.service_principal_id,
            &self.service_principal_credential_key_id,
            &self.request_uri,
            &self.request_method,
        ]
    }

    /// One NDJSON line (no line ending), keys in [`Alert::COLUMNS`] order.
    pub fn to_json_line(&self) -> String {
        let mut b = Vec::with_capacity(512);
        b.push(b'{');
        for (k, (name, v)) in Alert::COLUMNS.iter().zip(self.values()).enumerate() {
            if k > 0 {
                b.push(b',');
            }
            crate::render::write_json_str(&mut b, name);
            b.push(b':');
            crate::render::write_json_str(&mut b, v);
        }
        b.push(b'}');
        String::from_utf8(b).expect("utf-8")
    }
}
