//! Entra ID / Azure tables for the Sigma benchmark (`sigcorr-gen --entra-only`):
//! SigninLogs, AADNonInteractiveUserSignInLogs, AuditLogs, AzureActivity and
//! AADUserRiskEvents as Log Analytics rows.
//!
//! Independent of the Graph / token plan in `generator.rs`: every record is
//! derived from `hash(seed, table domain, index)` alone, so the tables can be
//! written next to an existing dataset, in any order, on any number of threads,
//! with byte-identical output for a seed. Each table goes to its own NDJSON
//! file, in chronological order over `now - 45d .. now - 45min`.
//!
//! Shape: one JSON object per line, `"Type": "<table>"`, every column of the
//! table's definition (`tables/<table>.yml`) present, flat; `dynamic` columns
//! are JSON objects / arrays, `string` columns that hold JSON in Log Analytics
//! (the non-interactive table's `DeviceDetail`, AzureActivity's `Claims`, ...)
//! are JSON text; `bool` columns JSON booleans; `long` columns numbers;
//! datetimes 7 fractional digits and `Z`.
//!
//! Value mixes follow real tenants: mostly successful interactive sign-ins to
//! Office apps, token refreshes in the non-interactive table, routine directory
//! changes, Resource Manager writes and policy audits. About 2-3% of the
//! records are suspicious (anonymising networks, attack tools, legacy
//! protocols, privileged role and credential changes, security control
//! tampering) so that typical Sigma rules raise a few alerts.

use crate::model::Guid;
use crate::render::write_json_str;
use crate::rng::{Rng, hash};
use crate::time::{TICKS_PER_DAY, TICKS_PER_MIN, TICKS_PER_SEC, Ts, Zone};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

/// What to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntraConfig {
    pub seed: u64,
    /// User sign-ins, split ~30% SigninLogs (interactive) / ~70%
    /// AADNonInteractiveUserSignInLogs (exact total).
    pub signin: usize,
    /// AuditLogs rows (exact).
    pub audit: usize,
    /// AzureActivity rows (exact).
    pub activity: usize,
    /// AADUserRiskEvents rows (exact).
    pub risk: usize,
    /// Unix seconds; records cover `now - 45d .. now - 45min`.
    pub now: i64,
    pub crlf: bool,
}

impl Default for EntraConfig {
    fn default() -> EntraConfig {
        EntraConfig {
            seed: 7,
            signin: 2000,
            audit: 500,
            activity: 500,
            risk: 100,
            now: crate::DEFAULT_NOW_UNIX,
            crlf: false,
        }
    }
}

/// The tables this module writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntraTable {
    SigninLogs,
    AADNonInteractiveUserSignInLogs,
    AuditLogs,
    AzureActivity,
    AADUserRiskEvents,
}

impl EntraTable {
    pub const ALL: [EntraTable; 5] = [
        EntraTable::SigninLogs,
        EntraTable::AADNonInteractiveUserSignInLogs,
        EntraTable::AuditLogs,
        EntraTable::AzureActivity,
        EntraTable::AADUserRiskEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EntraTable::SigninLogs => "SigninLogs",
            EntraTable::AADNonInteractiveUserSignInLogs => "AADNonInteractiveUserSignInLogs",
            EntraTable::AuditLogs => "AuditLogs",
            EntraTable::AzureActivity => "AzureActivity",
            EntraTable::AADUserRiskEvents => "AADUserRiskEvents",
        }
    }

    /// `<table>.json`.
    pub fn file_name(self) -> String {
        format!("{}.json", self.name())
    }

    fn index(self) -> usize {
        EntraTable::ALL.iter().position(|&t| t == self).expect("table")
    }
}

/// What [`write_entra`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntraSummary {
    /// Rows per table, indexed like [`EntraTable::ALL`].
    pub rows: [u64; 5],
    /// Bytes per table, indexed like [`EntraTable::ALL`].
    pub bytes: [u64; 5],
    pub files: Vec<PathBuf>,
}

impl EntraSummary {
    pub fn rows_of(&self, t: EntraTable) -> u64 {
        self.rows[t.index()]
    }
    pub fn bytes_of(&self, t: EntraTable) -> u64 {
        self.bytes[t.index()]
    }
    pub fn total_bytes(&self) -> u64 {
        self.bytes.iter().sum()
    }
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().sum()
    }
}

// ---------------------------------------------------------------- domains

const D_SIGNIN: u64 = 0xE1_0001;
const D_AUDIT: u64 = 0xE1_0002;
const D_ACTIVITY: u64 = 0xE1_0003;
const D_RISK: u64 = 0xE1_0004;
const D_USER: u64 = 0xE1_0010;
const D_TENANT: u64 = 0xE1_0011;
const D_SUB: u64 = 0xE1_0012;
const D_SP: u64 = 0xE1_0013;

const USERS: u64 = 6000;
const SERVICE_PRINCIPALS: u64 = 300;
const CHUNK: usize = 2048;
const MICROSOFT_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
const DOMAIN: &str = "contoso.com";

// ---------------------------------------------------------------- JSON writer

/// A minimal JSON object writer (keys are trusted ASCII).
struct Obj<'a> {
    b: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(b: &'a mut Vec<u8>) -> Obj<'a> {
        b.push(b'{');
        Obj { b, first: true }
    }
    fn end(self) {
        self.b.push(b'}');
    }
    fn key(&mut self, k: &str) {
        if !self.first {
            self.b.push(b',');
        }
        self.first = false;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
    }
    fn s(&mut self, k: &str, v: &str) {
        self.key(k);
        write_json_str(self.b, v);
    }
    fn g(&mut self, k: &str, v: Guid) {
        self.key(k);
        self.b.push(b'"');
        v.write(self.b);
        self.b.push(b'"');
    }
    fn i(&mut self, k: &str, v: i64) {
        self.key(k);
        self.b.extend_from_slice(v.to_string().as_bytes());
    }
    fn f(&mut self, k: &str, v: f64) {
        self.key(k);
        self.b.extend_from_slice(format!("{v:.4}").as_bytes());
    }
    fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.b.extend_from_slice(if v { b"true" } else { b"false" });
    }
    fn null(&mut self, k: &str) {
        self.key(k);
        self.b.extend_from_slice(b"null");
    }
    fn t(&mut self, k: &str, v: Ts) {
        self.key(k);
        self.b.push(b'"');
        v.write(self.b, Zone::Z);
        self.b.push(b'"');
    }
    /// Nested JSON (a `dynamic` column or a nested value).
    fn raw(&mut self, k: &str, json: &[u8]) {
        self.key(k);
        self.b.extend_from_slice(json);
    }
    /// JSON text in a string column.
    fn text(&mut self, k: &str, json: &[u8]) {
        self.key(k);
        write_json_str(self.b, std::str::from_utf8(json).expect("utf-8"));
    }
    /// Nested JSON when `nested`, else the same JSON as text.
    fn dynamic(&mut self, k: &str, nested: bool, json: &[u8]) {
        if nested { self.raw(k, json) } else { self.text(k, json) }
    }
}

/// Builds a nested JSON object into a fresh buffer.
fn obj(f: impl FnOnce(&mut Obj<'_>)) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    let mut o = Obj::new(&mut b);
    f(&mut o);
    o.end();
    b
}

/// A JSON array of already-encoded items.
fn arr(items: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 2);
    b.push(b'[');
    for (k, it) in items.iter().enumerate() {
        if k > 0 {
            b.push(b',');
        }
        b.extend_from_slice(it);
    }
    b.push(b']');
    b
}

/// A JSON array of strings.
fn str_arr(items: &[&str]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    b.push(b'[');
    for (k, it) in items.iter().enumerate() {
        if k > 0 {
            b.push(b',');
        }
        write_json_str(&mut b, it);
    }
    b.push(b']');
    b
}

/// A JSON string literal.
fn jstr(s: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(s.len() + 2);
    write_json_str(&mut b, s);
    b
}

// ---------------------------------------------------------------- random helpers

fn guid(r: &mut Rng) -> Guid {
    // Version-4 shape: 4 in the version nibble, 8-b in the variant nibble.
    let v = r.u128();
    Guid((v & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62))
}

fn guid_of(h: u64) -> Guid {
    guid(&mut Rng::new(h))
}

/// A weighted pick: `items` are `(value, weight)`.
fn wpick<T: Copy>(r: &mut Rng, items: &[(T, u32)]) -> T {
    let total: u64 = items.iter().map(|&(_, w)| w as u64).sum();
    let mut x = r.below(total);
    for &(v, w) in items {
        if x < w as u64 {
            return v;
        }
        x -= w as u64;
    }
    items[items.len() - 1].0
}

fn b64ish(r: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n).map(|_| A[r.below(64) as usize] as char).collect()
}

fn hex(r: &mut Rng, n: usize) -> String {
    const H: &[u8] = b"0123456789ABCDEF";
    (0..n).map(|_| H[r.below(16) as usize] as char).collect()
}

/// The time of record `i` of `n`: evenly spread over `now-45d .. now-45min`,
/// jittered within its slot (so chronological).
fn slot_time(now: i64, i: usize, n: usize, r: &mut Rng) -> Ts {
    let end = now * TICKS_PER_SEC - 45 * TICKS_PER_MIN;
    let start = now * TICKS_PER_SEC - 45 * TICKS_PER_DAY;
    let span = (end - start) as i128;
    let n = n.max(1) as i128;
    let lo = start as i128 + span * i as i128 / n;
    let hi = start as i128 + span * (i as i128 + 1) / n;
    let w = (hi - lo).max(1) as u64;
    Ts((lo + r.below(w) as i128) as i64)
}

// ---------------------------------------------------------------- places and addresses

#[derive(Clone, Copy)]
struct Geo {
    city: &'static str,
    state: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
}

const fn geo(city: &'static str, state: &'static str, country: &'static str, lat: f64, lon: f64) -> Geo {
    Geo { city, state, country, lat, lon }
}

/// Where the tenant's users are.
const HOME: &[(Geo, u32)] = &[
    (geo("Seattle", "Washington", "US", 47.6062, -122.3321), 22),
    (geo("New York", "New York", "US", 40.7128, -74.006), 14),
    (geo("Dublin", "Dublin", "IE", 53.3498, -6.2603), 12),
    (geo("London", "England", "GB", 51.5072, -0.1276), 12),
    (geo("Amsterdam", "Noord-Holland", "NL", 52.3676, 4.9041), 8),
    (geo("Berlin", "Berlin", "DE", 52.52, 13.405), 8),
    (geo("Paris", "Ile-De-France", "FR", 48.8566, 2.3522), 7),
    (geo("Toronto", "Ontario", "CA", 43.6532, -79.3832), 6),
    (geo("Sydney", "New South Wales", "AU", -33.8688, 151.2093), 4),
    (geo("Bengaluru", "Karnataka", "IN", 12.9716, 77.5946), 4),
    (geo("Singapore", "Singapore", "SG", 1.3521, 103.8198), 3),
];

/// Where suspicious sign-ins come from.
const AWAY: &[(Geo, u32)] = &[
    (geo("Moscow", "Moscow", "RU", 55.7558, 37.6173), 4),
    (geo("Lagos", "Lagos", "NG", 6.5244, 3.3792), 3),
    (geo("Bucharest", "Bucuresti", "RO", 44.4268, 26.1025), 3),
    (geo("Hanoi", "Ha Noi", "VN", 21.0278, 105.8342), 2),
    (geo("Tehran", "Tehran", "IR", 35.6892, 51.389), 1),
    (geo("Sao Paulo", "Sao Paulo", "BR", -23.5505, -46.6333), 3),
    (geo("Frankfurt Am Main", "Hesse", "DE", 50.1109, 8.6821), 4),
    (geo("Ashburn", "Virginia", "US", 39.0438, -77.4874), 4),
];

fn v4(a: u64, b: u64, c: u64, d: u64) -> String {
    format!("{a}.{b}.{c}.{d}")
}

/// Corporate egress (named location "Contoso HQ"): 20.190.128.0/24, 203.0.113.0/24.
fn corp_ip(r: &mut Rng) -> String {
    if r.chance(2, 3) { v4(20, 190, 128, 1 + r.below(250)) } else { v4(203, 0, 113, 1 + r.below(250)) }
}

/// Home / mobile broadband.
fn residential_ip(r: &mut Rng) -> String {
    match r.below(10) {
        0 => format!(
            "2a02:{:x}:{:x}:{:x}::{:x}",
            0x8000 + r.below(0x1000),
            r.below(0xffff),
            r.below(0xffff),
            1 + r.below(0xfff)
        ),
        1 => format!(
            "2600:{:x}:{:x}:{:x}::{:x}",
            0x1000 + r.below(0x800),
            r.below(0xffff),
            r.below(0xffff),
            1 + r.below(0xfff)
        ),
        _ => {
            let a = r.choose(&[73u64, 24, 86, 92, 81, 109, 176, 98, 71, 82, 31]);
            v4(a, r.below(256), r.below(256), 1 + r.below(254))
        }
    }
}

/// Anonymising networks and bulletproof hosting (the ranges the rules list).
fn attacker_ip(r: &mut Rng) -> String {
    match r.below(6) {
        0 | 1 => v4(185, 220, 100 + r.below(2), 1 + r.below(254)),
        2 => v4(45, 155, 204 + r.below(2), 1 + r.below(254)),
        3 => v4(194, 165, 16, 1 + r.below(254)),
        4 => v4(5, 188, 206, 1 + r.below(254)),
        _ => format!("2a0b:f4c0:{:x}::{:x}", r.below(0xff), 1 + r.below(0xfff)),
    }
}

/// Azure datacenter addresses (Resource Manager callers from Azure).
fn azure_ip(r: &mut Rng) -> String {
    let a = r.choose(&[20u64, 40, 52, 13, 104, 4]);
    v4(a, r.below(256), r.below(256), 1 + r.below(254))
}

// ---------------------------------------------------------------- directory

const FIRST: &[&str] = &[
    "adele",
    "alex",
    "allan",
    "amelia",
    "anil",
    "astrid",
    "ben",
    "bianca",
    "carlos",
    "chen",
    "chloe",
    "christie",
    "daniel",
    "debra",
    "diego",
    "eilidh",
    "emily",
    "enrico",
    "fatima",
    "fiona",
    "grady",
    "hana",
    "henrietta",
    "irvin",
    "isaiah",
    "jakob",
    "joni",
    "johanna",
    "kai",
    "lee",
    "lidia",
    "lynne",
    "megan",
    "miriam",
    "nestor",
    "nora",
    "olga",
    "patti",
    "pradeep",
    "priya",
    "raul",
    "ravi",
    "sakura",
    "sofia",
    "tomasz",
    "ulla",
    "victor",
    "wei",
    "yusuf",
    "zoe",
];
const LAST: &[&str] = &[
    "vance",
    "wilber",
    "deyoung",
    "brown",
    "kumar",
    "larsen",
    "walker",
    "rossi",
    "mendez",
    "wang",
    "dubois",
    "cline",
    "kowalski",
    "lopez",
    "murphy",
    "young",
    "garcia",
    "conti",
    "haddad",
    "byrne",
    "archie",
    "sato",
    "harris",
    "bell",
    "johnson",
    "meyer",
    "lee",
    "nowak",
    "mueller",
    "adams",
    "silva",
    "smith",
    "bowen",
    "becker",
    "macias",
    "okafor",
    "petrova",
    "brien",
    "shah",
    "nair",
    "fernandez",
    "patel",
    "tanaka",
    "novak",
    "zielinski",
    "nilsson",
    "hugo",
    "zhang",
    "demir",
    "fischer",
];
const DEPARTMENTS: &[&str] = &["Finance", "Sales", "Engineering", "HR", "Legal", "Marketing", "IT", "Operations"];

#[derive(Clone)]
struct User {
    id: Guid,
    upn: String,
    display: String,
    home: Geo,
    guest: bool,
    admin: bool,
}

fn user(seed: u64, u: u64) -> User {
    let mut r = Rng::new(hash(seed, D_USER, u));
    let first = r.choose(FIRST);
    let last = r.choose(LAST);
    let guest = r.chance(4, 100);
    let n = u / (FIRST.len() * LAST.len()) as u64;
    let suffix = if n > 0 || r.chance(1, 4) { format!("{}", u % 97) } else { String::new() };
    let cap = |s: &str| {
        let mut c = s.chars();
        c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
    };
    let display = format!("{} {}", cap(first), cap(last));
    let upn = if guest {
        let dom = r.choose(&["fabrikam.com", "gmail.com", "outlook.com", "northwindtraders.com"]);
        format!("{first}.{last}{suffix}_{}#EXT#@contoso.onmicrosoft.com", dom.replace('.', "_"))
    } else {
        format!("{first}.{last}{suffix}@{DOMAIN}")
    };
    User {
        id: guid(&mut r),
        upn,
        display: if guest { format!("{display} (Guest)") } else { display },
        home: wpick(&mut r, HOME),
        guest,
        admin: !guest && u % 60 == 7,
    }
}

fn tenant(seed: u64) -> Guid {
    guid_of(hash(seed, D_TENANT, 0))
}

/// The Log Analytics workspace id (`TenantId` in tables that have one).
fn workspace(seed: u64) -> Guid {
    guid_of(hash(seed, D_TENANT, 1))
}

fn subscription(seed: u64, k: u64) -> Guid {
    guid_of(hash(seed, D_SUB, k % 6))
}

/// A tenant application / service principal: (app id, object id, name).
fn tenant_app(seed: u64, k: u64) -> (Guid, Guid, String) {
    let k = k % SERVICE_PRINCIPALS;
    let mut r = Rng::new(hash(seed, D_SP, k));
    const KINDS: &[&str] = &[
        "hr-sync",
        "payroll-api",
        "backup-agent",
        "crm-connector",
        "ci-deploy",
        "inventory-svc",
        "reporting",
        "mail-archiver",
        "sso-gateway",
        "terraform",
        "monitoring",
        "sharepoint-migration",
    ];
    let name = format!("{}-{}", r.choose(KINDS), 1 + k / KINDS.len() as u64);
    (guid(&mut r), guid(&mut r), name)
}

// ---------------------------------------------------------------- sign-ins

/// First-party applications users sign in to: (name, app id, interactive weight, non-interactive weight).
const APPS: &[(&str, &str, u32, u32)] = &[
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", 18, 2),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", 12, 24),
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", 10, 12),
    ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", 9, 14),
    ("Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e", 3, 14),
    ("OneDrive SyncEngine", "ab9b8c07-8f02-4f72-87fa-80105867a763", 2, 10),
    ("Outlook Mobile", "27922004-5251-4030-b22d-91ecd9a37ea4", 4, 8),
    ("Office365 Shell WCSS-Client", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", 6, 6),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", 8, 2),
    ("My Signins", "19db86c3-b2b9-44cc-b339-36da233a3be2", 3, 0),
    ("Microsoft Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", 2, 2),
    ("Microsoft Azure PowerShell", "1950a258-227b-4e31-a9cf-717495945fc2", 1, 1),
    ("Visual Studio Code", "aebc6443-996d-45c2-90f0-388ff96faa56", 2, 3),
    ("SharePoint Online Web Client Extensibility", "08e18876-6177-487e-b8b5-cf950c1e598c", 2, 2),
    ("Microsoft Intune Company Portal", "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223", 1, 2),
];

/// Apps the suspicious sign-ins use.
const ATTACK_APPS: &[(&str, &str, u32)] = &[
    ("Microsoft Azure PowerShell", "1950a258-227b-4e31-a9cf-717495945fc2", 4),
    ("Microsoft Azure CLI", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", 3),
    ("Azure Active Directory PowerShell", "1b730954-1685-4b74-9bfd-dac224a7b894", 3),
    ("Microsoft Graph Command Line Tools", "14d82eec-204b-4c2f-b7e8-296a70dab67e", 2),
    ("Graph Explorer", "de8bc8b5-d9f9-48b1-a8ad-b748da725064", 1),
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", 3),
    ("Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e", 2),
    ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", 2),
];

/// Resources: (display name, app id).
const RESOURCES: &[(&str, &str, u32)] = &[
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", 24),
    ("Microsoft Graph", "00000003-0000-0000-c000-000000000000", 22),
    ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000", 14),
    ("Microsoft Teams Services", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", 10),
    ("Windows Azure Active Directory", "00000002-0000-0000-c000-000000000000", 6),
    ("Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013", 6),
    ("Microsoft Intune", "0000000a-0000-0000-c000-000000000000", 3),
    ("Device Registration Service", "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9", 2),
    ("Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", 1),
];

const FAILURES: &[(&str, &str, u32)] = &[
    ("50126", "Error validating credentials due to invalid username or password.", 30),
    ("50074", "Strong Authentication is required.", 20),
    ("50140", "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.", 15),
    (
        "50076",
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
        12,
    ),
    ("70043", "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.", 6),
    ("700082", "The refresh token has expired due to inactivity.", 4),
    (
        "53003",
        "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        4,
    ),
    ("500121", "Authentication failed during strong authentication request.", 4),
    ("50173", "The provided grant has expired due to it being revoked, a fresh auth token is needed.", 3),
    ("50034", "The user account does not exist in the directory.", 3),
    (
        "16000",
        "Either multiple user identities are available for the current request or selected account is not supported for the scenario.",
        3,
    ),
    (
        "50053",
        "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
        2,
    ),
    ("50055", "The password is expired.", 2),
    ("50057", "The user account is disabled.", 2),
    ("50097", "Device authentication is required.", 2),
    ("50133", "Session is invalid due to expiration or recent password change.", 2),
    ("65001", "The user or administrator has not consented to use the application.", 2),
    ("81010", "Seamless SSO failed because the user's Kerberos ticket has expired or is invalid.", 2),
    ("50158", "External security challenge not satisfied.", 1),
    ("90095", "Admin consent is required for the permissions requested by this application.", 1),
    ("700016", "Application not found in the directory.", 1),
    ("50072", "User needs to enroll for second factor authentication.", 1),
];

fn failure(code: &str) -> (&'static str, &'static str) {
    FAILURES.iter().find(|f| f.0 == code).map(|f| (f.0, f.1)).expect("failure code")
}

const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
];
const CLIENT_UAS: &[&str] = &[
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/24152.405.2925.6762 Chrome/122.0.6261.156 Electron/29.4.0 Safari/537.36",
    "Windows-AzureAD-Authentication-Provider/1.0",
    "Dalvik/2.1.0 (Linux; U; Android 14; SM-S918B Build/UP1A.231005.007)",
    "OneDrive/24.116.0609.0003 (Windows/10.0.22631 x64)",
    "Outlook-iOS/723.4027091.prod.iphone (4.2420.0)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
];
const ATTACK_UAS: &[(&str, u32)] = &[
    ("python-requests/2.32.3", 6),
    ("BAV2ROPC", 5),
    ("Mozilla/5.0 (compatible; MSAL 1.0) AADInternals", 2),
    ("azurehound/v2.1.9", 2),
    ("curl/8.8.0", 2),
    ("Go-http-client/1.1", 2),
    ("axios/1.7.2", 3),
    ("Python/3.11 aiohttp/3.9.5", 1),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        6,
    ),
];

/// The tenant's Conditional Access policies: (id, name, grant control).
const CA_POLICIES: &[(&str, &str, &str)] = &[
    ("0b6d7c8e-2f4a-4d1b-9a3e-5c7f1e2d3a4b", "CA001: Require MFA for all users", "Mfa"),
    ("1c7e8d9f-3a5b-4e2c-8b4f-6d8a2f3e4b5c", "CA002: Block legacy authentication", "Block"),
    ("2d8f9e0a-4b6c-4f3d-9c5a-7e9b3a4f5c6d", "CA003: Require compliant device for admins", "RequireCompliantDevice"),
    ("3e9a0f1b-5c7d-4a4e-8d6b-8f0c4b5a6d7e", "CA004: Block sign-ins from high-risk countries", "Block"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum SigninKind {
    Normal,
    Spray,
    StolenSession,
    DeviceCode,
    Recon,
    MfaFatigue,
    LegacyMail,
    BlockedCountry,
}

fn sign_in_kind(r: &mut Rng) -> SigninKind {
    if !r.chance(3, 100) {
        return SigninKind::Normal;
    }
    wpick(
        r,
        &[
            (SigninKind::Spray, 30),
            (SigninKind::StolenSession, 12),
            (SigninKind::DeviceCode, 8),
            (SigninKind::Recon, 12),
            (SigninKind::MfaFatigue, 10),
            (SigninKind::LegacyMail, 18),
            (SigninKind::BlockedCountry, 10),
        ],
    )
}

fn location_json(g: &Geo) -> Vec<u8> {
    obj(|o| {
        o.s("city", g.city);
        o.s("state", g.state);
        o.s("countryOrRegion", g.country);
        o.raw(
            "geoCoordinates",
            &obj(|c| {
                c.f("latitude", g.lat);
                c.f("longitude", g.lon);
            }),
        );
    })
}

/// Renders sign-in `i` of `n`; returns whether it is interactive (SigninLogs).
fn signin(cfg: &EntraConfig, i: usize, b: &mut Vec<u8>) -> bool {
    let seed = cfg.seed;
    let mut r = Rng::new(hash(seed, D_SIGNIN, i as u64));
    let interactive = r.chance(30, 100);
    let kind = sign_in_kind(&mut r);
    let t = slot_time(cfg.now, i, cfg.signin, &mut r);
    // Admins sign in more than their share.
    let uidx = if r.chance(5, 100) { 7 + 60 * r.below(USERS / 60) } else { r.below(USERS) };
    let u = user(seed, uidx);
    let tid = tenant(seed);
    let normal = kind == SigninKind::Normal;

    // Where from.
    let corp = normal && !u.guest && r.chance(45, 100);
    let (ip, geo) = if corp {
        (corp_ip(&mut r), u.home)
    } else if normal {
        let g = if r.chance(97, 100) { u.home } else { wpick(&mut r, HOME) };
        (residential_ip(&mut r), g)
    } else {
        (attacker_ip(&mut r), wpick(&mut r, AWAY))
    };

    // What.
    let (app, app_id) = if normal {
        let w: Vec<((&str, &str), u32)> =
            APPS.iter().map(|a| ((a.0, a.1), if interactive { a.2 } else { a.3 })).filter(|x| x.1 > 0).collect();
        wpick(&mut r, &w)
    } else {
        let w: Vec<((&str, &str), u32)> = ATTACK_APPS.iter().map(|a| ((a.0, a.1), a.2)).collect();
        wpick(&mut r, &w)
    };
    let (resource, resource_id) = {
        let w: Vec<((&str, &str), u32)> = RESOURCES.iter().map(|x| ((x.0, x.1), x.2)).collect();
        match app {
            "Azure Portal" | "Microsoft Azure CLI" | "Microsoft Azure PowerShell" => {
                ("Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013")
            }
            "Azure Active Directory PowerShell" => {
                ("Windows Azure Active Directory", "00000002-0000-0000-c000-000000000000")
            }
            "Microsoft Graph Command Line Tools" | "Graph Explorer" => {
                ("Microsoft Graph", "00000003-0000-0000-c000-000000000000")
            }
            _ => wpick(&mut r, &w),
        }
    };

    // Result.
    let (result, description): (&str, &str) = match kind {
        SigninKind::Normal => {
            let fail_rate = if interactive { 9 } else { 4 };
            if r.chance(fail_rate, 100) {
                let w: Vec<((&str, &str), u32)> = FAILURES.iter().map(|f| ((f.0, f.1), f.2)).collect();
                wpick(&mut r, &w)
            } else {
                ("0", "")
            }
        }
        SigninKind::Spray => failure(wpick(&mut r, &[("50126", 70), ("50053", 15), ("50034", 10), ("50057", 5)])),
        SigninKind::MfaFatigue if r.chance(85, 100) => failure(wpick(&mut r, &[("500121", 80), ("50074", 20)])),
        SigninKind::BlockedCountry => failure("53003"),
        SigninKind::LegacyMail if r.chance(60, 100) => failure("50126"),
        _ => ("0", ""),
    };
    let ok = result == "0";

    let client_app = match kind {
        SigninKind::Spray => wpick(
            &mut r,
            &[
                ("Other clients", 5),
                ("Authenticated SMTP", 3),
                ("IMAP4", 2),
                ("Exchange ActiveSync", 2),
                ("Browser", 3),
            ],
        ),
        SigninKind::LegacyMail => wpick(
            &mut r,
            &[
                ("IMAP4", 4),
                ("POP3", 3),
                ("Authenticated SMTP", 3),
                ("Exchange ActiveSync", 3),
                ("Exchange Web Services", 2),
                ("MAPI Over HTTP", 1),
                ("Exchange Online PowerShell", 1),
                ("AutoDiscover", 1),
            ],
        ),
        SigninKind::Recon => "Mobile Apps and Desktop clients",
        _ if interactive => wpick(&mut r, &[("Browser", 62), ("Mobile Apps and Desktop clients", 38)]),
        _ => wpick(&mut r, &[("Mobile Apps and Desktop clients", 86), ("Browser", 13), ("Exchange ActiveSync", 1)]),
    };
    let protocol = match kind {
        SigninKind::DeviceCode => "deviceCode",
        SigninKind::Spray | SigninKind::LegacyMail => {
            if r.chance(1, 2) {
                "ropc"
            } else {
                "none"
            }
        }
        SigninKind::Recon if r.chance(1, 2) => "ropc",
        _ => wpick(
            &mut r,
            &[("none", 950), ("oAuth2", 30), ("saml20", 12), ("wsFederation", 6), ("ropc", 1), ("deviceCode", 1)],
        ),
    };
    let ua: &str = match kind {
        SigninKind::Normal => {
            if client_app == "Browser" {
                r.choose(BROWSER_UAS)
            } else {
                r.choose(CLIENT_UAS)
            }
        }
        SigninKind::StolenSession | SigninKind::BlockedCountry => r.choose(BROWSER_UAS),
        SigninKind::MfaFatigue => r.choose(BROWSER_UAS),
        _ => wpick(&mut r, ATTACK_UAS),
    };
    let mfa = ok
        && match kind {
            SigninKind::Normal => {
                if interactive {
                    r.chance(55, 100)
                } else {
                    r.chance(35, 100)
                }
            }
            SigninKind::StolenSession | SigninKind::MfaFatigue => true,
            _ => false,
        };
    let requirement = if mfa || matches!(result, "50074" | "50076" | "500121") {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    };
    let legacy = matches!(
        client_app,
        "Other clients"
            | "IMAP4"
            | "POP3"
            | "Authenticated SMTP"
            | "Exchange ActiveSync"
            | "Exchange Web Services"
            | "MAPI Over HTTP"
            | "AutoDiscover"
            | "Exchange Online PowerShell"
    );
    // Conditional Access: each policy's result.
    let compliant = normal && r.chance(70, 100);
    let mut ca_results = [""; 4];
    for (k, p) in CA_POLICIES.iter().enumerate() {
        ca_results[k] = match (k, p.2) {
            (0, _) => {
                if !ok && result != "50074" && result != "500121" {
                    "notApplied"
                } else if mfa {
                    "success"
                } else if corp {
                    "notApplied"
                } else {
                    "reportOnlySuccess"
                }
            }
            (1, _) => {
                if legacy {
                    if ok { "reportOnlyFailure" } else { "failure" }
                } else {
                    "notApplied"
                }
            }
            (2, _) => {
                if u.admin {
                    if compliant { "success" } else { "failure" }
                } else {
                    "notEnabled"
                }
            }
            _ => {
                if kind == SigninKind::BlockedCountry {
                    "failure"
                } else {
                    "notApplied"
                }
            }
        };
    }
    let ca_status = if result == "53003" || ca_results.contains(&"failure") {
        "failure"
    } else if ca_results.contains(&"success") {
        "success"
    } else {
        "notApplied"
    };
    // Risk.
    let (risk_level, risk_state, risk_events): (&str, &str, &[&str]) = match kind {
        SigninKind::StolenSession => ("high", "atRisk", &["anonymizedIPAddress", "unfamiliarFeatures"]),
        SigninKind::Spray if r.chance(1, 3) => ("medium", "atRisk", &["passwordSpray"]),
        SigninKind::BlockedCountry | SigninKind::DeviceCode => ("medium", "atRisk", &["unfamiliarFeatures"]),
        SigninKind::Normal if r.chance(1, 200) => ("low", "atRisk", &["unfamiliarFeatures"]),
        SigninKind::Normal if r.chance(1, 100) => ("none", "remediated", &[]),
        _ => ("none", "none", &[]),
    };

    let os = if ua.contains("iPhone") || ua.contains("iOS") {
        "Ios"
    } else if ua.contains("Android") || ua.contains("Dalvik") {
        "Android"
    } else if ua.contains("Macintosh") {
        "MacOs"
    } else if ua.contains("Windows") {
        "Windows10"
    } else {
        ""
    };
    let browser = if ua.contains("Edg/") {
        "Edge 126.0.0"
    } else if ua.contains("Firefox") {
        "Firefox 127.0"
    } else if ua.contains("Chrome") {
        "Chrome 126.0.0"
    } else if ua.contains("Safari") {
        "Mobile Safari 17.5"
    } else if ua.starts_with("python") {
        "Python Requests 2.32"
    } else {
        ""
    };
    let managed = normal && os == "Windows10" && r.chance(80, 100);
    let device_id = if managed { guid(&mut r).to_string() } else { String::new() };
    let device = obj(|o| {
        o.s("deviceId", &device_id);
        o.s("displayName", if managed { "CONTOSO-LT" } else { "" });
        o.s("operatingSystem", os);
        o.s("browser", browser);
        o.bool("isCompliant", managed && compliant);
        o.bool("isManaged", managed);
        o.s(
            "trustType",
            if managed { if r.chance(1, 2) { "Azure AD joined" } else { "Hybrid Azure AD joined" } } else { "" },
        );
    });
    let location = location_json(&geo);
    let status = obj(|o| {
        o.i("errorCode", result.parse::<i64>().unwrap_or(0));
        if !ok {
            o.s("failureReason", description);
        }
        o.s(
            "additionalDetails",
            match (ok, mfa, kind) {
                (false, _, SigninKind::MfaFatigue) => "MFA denied; user declined the authentication",
                (false, _, _) => "",
                (true, true, _) if !interactive => "MFA requirement satisfied by claim in the token",
                (true, true, _) => "MFA completed in Azure AD",
                (true, false, _) => "",
            },
        );
    });
    let mfa_detail = if mfa {
        obj(|o| {
            o.s(
                "authMethod",
                wpick(
                    &mut r,
                    &[
                        ("Mobile app notification", 6),
                        ("Phone call approval (Authentication phone)", 1),
                        ("Passkey (Microsoft Authenticator)", 2),
                    ],
                ),
            );
            o.null("authDetail");
        })
    } else {
        b"{}".to_vec()
    };
    let policies: Vec<Vec<u8>> = CA_POLICIES
        .iter()
        .zip(ca_results)
        .map(|(p, res)| {
            obj(|o| {
                o.s("id", p.0);
                o.s("displayName", p.1);
                o.raw("enforcedGrantControls", &str_arr(&[p.2]));
                o.raw("enforcedSessionControls", b"[]");
                o.s("result", res);
                o.raw("conditionsSatisfied", b"3");
                o.raw("conditionsNotSatisfied", b"0");
            })
        })
        .collect();
    let policies = arr(&policies);
    let step_time = {
        let mut s = Vec::new();
        t.write(&mut s, Zone::Z);
        String::from_utf8(s).expect("ascii")
    };
    let auth_details = {
        let mut steps = Vec::new();
        if interactive || !ok {
            steps.push(obj(|o| {
                o.s("authenticationStepDateTime", &step_time);
                o.s("authenticationMethod", "Password");
                o.s("authenticationMethodDetail", "Password in the cloud");
                o.bool("succeeded", ok || !matches!(result, "50126" | "50053"));
                o.s("authenticationStepResultDetail", if ok { "Correct password" } else { description });
                o.s("authenticationStepRequirement", "Primary authentication");
            }));
        } else {
            steps.push(obj(|o| {
                o.s("authenticationStepDateTime", &step_time);
                o.s("authenticationMethod", "Previously satisfied");
                o.bool("succeeded", true);
                o.s("authenticationStepResultDetail", "First factor requirement satisfied by claim in the token");
                o.s("authenticationStepRequirement", "Primary authentication");
            }));
        }
        if mfa {
            steps.push(obj(|o| {
                o.s("authenticationStepDateTime", &step_time);
                o.s(
                    "authenticationMethod",
                    if interactive { "Mobile app notification" } else { "Previously satisfied" },
                );
                o.bool("succeeded", true);
                o.s("authenticationStepResultDetail", "MFA requirement satisfied by claim in the token");
                o.s("authenticationStepRequirement", "Multi-factor authentication");
            }));
        }
        arr(&steps)
    };
    let processing = {
        let kv = |k: &str, v: &str| {
            obj(|o| {
                o.s("key", k);
                o.s("value", v);
            })
        };
        arr(&[
            kv("Legacy TLS (TLS 1.0, 1.1, 3DES)", "False"),
            kv("Is CAE Token", if r.chance(1, 3) { "True" } else { "False" }),
            kv("Oauth Scope Info", "[\"email\",\"openid\",\"profile\",\"User.Read\"]"),
        ])
    };
    let net = if corp {
        b"[{\"networkType\":\"trustedNamedLocation\",\"networkNames\":[\"Contoso HQ\"]}]".to_vec()
    } else {
        b"[]".to_vec()
    };
    let risk_events_json = str_arr(risk_events);
    let correlation = guid(&mut r);
    let id = guid(&mut r);
    let session = guid(&mut r);
    let uti = b64ish(&mut r, 22);
    let asn = if corp {
        "8075".to_string()
    } else {
        format!("{}", r.choose(&[7922u64, 3320, 5089, 2856, 6830, 16276, 24940, 14061, 60068, 9009]))
    };
    let processing_ms = format!("{}", 40 + r.below(400));
    let nested = interactive; // dynamic in SigninLogs, JSON text in the non-interactive table
    let token_type = if interactive {
        "none"
    } else {
        wpick(&mut r, &[("primaryRefreshToken", 6), ("refreshToken", 3), ("none", 1)])
    };
    let original_transfer = if kind == SigninKind::DeviceCode { "deviceCodeFlow" } else { "none" };

    let mut o = Obj::new(b);
    o.g("AADTenantId", tid);
    o.dynamic("Agent", nested, b"{\"agentType\":\"notAgentic\"}");
    o.s("AlternateSignInName", &u.upn);
    o.s("AppDisplayName", app);
    o.s("AppId", app_id);
    if interactive {
        o.s("AppliedConditionalAccessPolicies", "");
    }
    o.raw("AppliedEventListeners", b"[]");
    o.s("AppOwnerTenantId", MICROSOFT_TENANT);
    if interactive {
        o.s("AuthenticationAppDeviceDetails", "");
        o.s("AuthenticationAppPolicyEvaluationDetails", "");
    }
    o.s("AuthenticationContextClassReferences", "[]");
    o.text("AuthenticationDetails", &auth_details);
    o.s("AuthenticationMethodsUsed", "");
    o.text("AuthenticationProcessingDetails", &processing);
    o.s("AuthenticationProtocol", protocol);
    o.s("AuthenticationRequirement", requirement);
    o.s("AuthenticationRequirementPolicies", "[]");
    if interactive {
        o.s("AuthenticatorAppLocation", "");
    }
    o.s("AutonomousSystemNumber", &asn);
    o.s("Category", if interactive { "SignInLogs" } else { "NonInteractiveUserSignInLogs" });
    o.s("ClientAppUsed", client_app);
    o.s("ClientCredentialType", "none");
    if interactive {
        o.s("ClientSessionId", "");
    }
    if interactive {
        o.s("ConditionalAccessAudiences", "");
    }
    o.dynamic("ConditionalAccessPolicies", nested, &policies);
    o.s("ConditionalAccessStatus", ca_status);
    o.g("CorrelationId", correlation);
    o.t("CreatedDateTime", t);
    o.s("CrossTenantAccessType", if u.guest { "b2bCollaboration" } else { "none" });
    o.dynamic("DeviceDetail", nested, &device);
    o.i("DurationMs", 0);
    o.s("FederatedCredentialId", "");
    if interactive {
        o.bool("FlaggedForReview", false);
    }
    o.s("GlobalSecureAccessIpAddress", "");
    o.g("HomeTenantId", tid);
    o.s("HomeTenantName", "");
    o.g("Id", id);
    o.s("Identity", &u.display);
    o.s("IncomingTokenType", token_type);
    o.s("IPAddress", &ip);
    if interactive {
        o.s("IPAddressFromResourceProvider", "");
    }
    o.bool("IsInteractive", interactive);
    o.bool("IsRisky", risk_state == "atRisk");
    o.bool("IsTenantRestricted", false);
    o.bool("IsThroughGlobalSecureAccess", false);
    o.s("Level", "4");
    o.s("Location", geo.country);
    o.dynamic("LocationDetails", nested, &location);
    o.dynamic("MfaDetail", nested, &mfa_detail);
    o.text("NetworkLocationDetails", &net);
    o.s("OperationName", "Sign-in activity");
    o.s("OperationVersion", "1.0");
    o.g("OriginalRequestId", id);
    o.s("OriginalTransferMethod", original_transfer);
    if interactive {
        o.s("ProcessingTimeInMilliseconds", &processing_ms);
        o.s("Resource", "Microsoft.aadiam");
    } else {
        o.s("ProcessingTimeInMs", &processing_ms);
    }
    o.s("ResourceDisplayName", resource);
    o.s("ResourceGroup", "Microsoft.aadiam");
    if interactive {
        o.s("ResourceId", &format!("/tenants/{tid}/providers/Microsoft.aadiam"));
    }
    o.s("ResourceIdentity", resource_id);
    o.s("ResourceOwnerTenantId", MICROSOFT_TENANT);
    if interactive {
        o.s("ResourceProvider", "Microsoft.aadiam");
    }
    o.s("ResourceServicePrincipalId", "");
    o.g("ResourceTenantId", tid);
    o.s("ResultDescription", description);
    o.s("ResultSignature", if ok { "SUCCESS" } else { "None" });
    o.s("ResultType", result);
    o.s("RiskDetail", if risk_state == "remediated" { "userPerformedSecuredPasswordReset" } else { "none" });
    o.text("RiskEventTypes", &risk_events_json);
    o.text("RiskEventTypes_V2", &risk_events_json);
    if interactive {
        o.s("RiskLevel", "");
    }
    o.s("RiskLevelAggregated", risk_level);
    o.s("RiskLevelDuringSignIn", risk_level);
    o.s("RiskState", risk_state);
    if interactive {
        o.s("RootActorID", "");
    }
    o.s("ServicePrincipalId", "");
    if interactive {
        o.s("ServicePrincipalName", "");
    }
    o.g("SessionId", session);
    o.s("SessionLifetimePolicies", "[]");
    if !interactive {
        o.s("SignInEventTypes", "[\"nonInteractiveUser\"]");
    }
    if interactive {
        o.s("SignInIdentifier", &u.upn);
    }
    o.s("SignInIdentifierType", "");
    if interactive {
        o.s("SourceAppClientId", "");
    }
    o.s("SourceSystem", "Azure AD");
    o.dynamic("Status", nested, &status);
    if !interactive {
        o.g("TenantId", workspace(seed));
    }
    o.t("TimeGenerated", t);
    o.s("TokenIssuerName", "");
    o.s("TokenIssuerType", "AzureAD");
    o.dynamic(
        "TokenProtectionStatusDetails",
        nested,
        b"{\"signInSessionStatus\":\"unbound\",\"signInSessionStatusCode\":1002}",
    );
    o.s("Type", if interactive { "SigninLogs" } else { "AADNonInteractiveUserSignInLogs" });
    o.s("UniqueTokenIdentifier", &uti);
    o.s("UserAgent", ua);
    o.s("UserDisplayName", &u.display);
    o.g("UserId", u.id);
    o.s("UserPrincipalName", &u.upn);
    o.s("UserType", if u.guest { "Guest" } else { "Member" });
    o.end();
    interactive
}

// ---------------------------------------------------------------- AuditLogs

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tgt {
    User,
    Group,
    Role,
    App,
    Sp,
    Policy,
    Device,
    Domain,
    Directory,
}

/// Directory activities: (activity, category, logged by, operation type, target, weight per 100,000).
const ACTIVITIES: &[(&str, &str, &str, &str, Tgt, u32)] = &[
    ("Update user", "UserManagement", "Core Directory", "Update", Tgt::User, 15000),
    ("Add member to group", "GroupManagement", "Core Directory", "Assign", Tgt::Group, 9000),
    ("Update device", "Device", "Core Directory", "Update", Tgt::Device, 7000),
    ("Update service principal", "ApplicationManagement", "Core Directory", "Update", Tgt::Sp, 4000),
    ("Remove member from group", "GroupManagement", "Core Directory", "Unassign", Tgt::Group, 4000),
    ("Update group", "GroupManagement", "Core Directory", "Update", Tgt::Group, 3000),
    ("Change user license", "UserManagement", "Core Directory", "Update", Tgt::User, 3000),
    ("User registered security info", "UserManagement", "Authentication Methods", "Add", Tgt::User, 2500),
    ("Update application", "ApplicationManagement", "Core Directory", "Update", Tgt::App, 2500),
    ("Add app role assignment grant to user", "ApplicationManagement", "Core Directory", "Assign", Tgt::Sp, 2500),
    ("Update StsRefreshTokenValidFrom Timestamp", "UserManagement", "Core Directory", "Update", Tgt::User, 2200),
    ("Add user", "UserManagement", "Core Directory", "Add", Tgt::User, 2000),
    ("Register device", "Device", "Device Registration Service", "Add", Tgt::Device, 2000),
    ("User started security info registration", "UserManagement", "Authentication Methods", "Other", Tgt::User, 1500),
    ("Add registered owner to device", "Device", "Core Directory", "Assign", Tgt::Device, 1500),
    ("Add registered users to device", "Device", "Core Directory", "Assign", Tgt::Device, 1200),
    ("Reset password (self-service)", "UserManagement", "Self-service Password Management", "Update", Tgt::User, 1200),
    ("Add member to role requested (PIM activation)", "RoleManagement", "PIM", "Assign", Tgt::Role, 1100),
    ("Add member to role completed (PIM activation)", "RoleManagement", "PIM", "Assign", Tgt::Role, 1100),
    ("Remove member from role completed (PIM activation expire)", "RoleManagement", "PIM", "Unassign", Tgt::Role, 900),
    ("Change password (self-service)", "UserManagement", "Self-service Password Management", "Update", Tgt::User, 900),
    ("User changed default security info", "UserManagement", "Authentication Methods", "Update", Tgt::User, 800),
    ("Add group", "GroupManagement", "Core Directory", "Add", Tgt::Group, 700),
    ("Consent to application", "ApplicationManagement", "Core Directory", "Assign", Tgt::Sp, 700),
    ("Invite external user", "UserManagement", "Invited Users", "Add", Tgt::User, 700),
    ("Redeem external user invite", "UserManagement", "Invited Users", "Update", Tgt::User, 600),
    ("Add delegated permission grant", "ApplicationManagement", "Core Directory", "Assign", Tgt::Sp, 600),
    ("Delete user", "UserManagement", "Core Directory", "Delete", Tgt::User, 800),
    ("Add owner to group", "GroupManagement", "Core Directory", "Assign", Tgt::Group, 500),
    ("Reset user password", "UserManagement", "Core Directory", "Update", Tgt::User, 500),
    ("Update policy", "Policy", "Core Directory", "Update", Tgt::Policy, 400),
    ("Add service principal", "ApplicationManagement", "Core Directory", "Add", Tgt::Sp, 400),
    (
        "Update application – Certificates and secrets management",
        "ApplicationManagement",
        "Core Directory",
        "Update",
        Tgt::App,
        400,
    ),
    ("Change user password", "UserManagement", "Core Directory", "Update", Tgt::User, 300),
    ("Add application", "ApplicationManagement", "Core Directory", "Add", Tgt::App, 250),
    ("Disable account", "UserManagement", "Core Directory", "Update", Tgt::User, 250),
    ("Add member to role", "RoleManagement", "Core Directory", "Assign", Tgt::Role, 200),
    ("Add service principal credentials", "ApplicationManagement", "Core Directory", "Update", Tgt::Sp, 150),
    ("Enable account", "UserManagement", "Core Directory", "Update", Tgt::User, 150),
    ("Delete device", "Device", "Core Directory", "Delete", Tgt::Device, 150),
    ("Add app role assignment to service principal", "ApplicationManagement", "Core Directory", "Assign", Tgt::Sp, 150),
    ("User deleted security info", "UserManagement", "Authentication Methods", "Delete", Tgt::User, 120),
    ("Admin registered security info", "UserManagement", "Authentication Methods", "Add", Tgt::User, 100),
    ("Update conditional access policy", "Policy", "Conditional Access", "Update", Tgt::Policy, 100),
    ("Remove member from role", "RoleManagement", "Core Directory", "Unassign", Tgt::Role, 100),
    ("Add owner to application", "ApplicationManagement", "Core Directory", "Assign", Tgt::App, 90),
    ("Add eligible member to role in PIM completed (permanent)", "RoleManagement", "PIM", "Assign", Tgt::Role, 80),
    ("Read BitLocker key", "KeyManagement", "Core Directory", "Other", Tgt::Device, 80),
    ("Admin deleted security info", "UserManagement", "Authentication Methods", "Delete", Tgt::User, 60),
    ("Add owner to service principal", "ApplicationManagement", "Core Directory", "Assign", Tgt::Sp, 60),
    ("Delete application", "ApplicationManagement", "Core Directory", "Delete", Tgt::App, 60),
    ("Add policy", "Policy", "Core Directory", "Add", Tgt::Policy, 50),
    ("Restore user", "UserManagement", "Core Directory", "Update", Tgt::User, 50),
    ("Hard Delete user", "UserManagement", "Core Directory", "Delete", Tgt::User, 40),
    ("Disable Strong Authentication", "UserManagement", "Core Directory", "Update", Tgt::User, 40),
    ("Update authorization policy", "Policy", "Core Directory", "Update", Tgt::Policy, 40),
    ("Add conditional access policy", "Policy", "Conditional Access", "Add", Tgt::Policy, 30),
    ("Recover device local administrator password", "Device", "Device Registration Service", "Other", Tgt::Device, 30),
    ("Add member to role outside of PIM (permanent)", "RoleManagement", "PIM", "Assign", Tgt::Role, 30),
    ("Update named location", "Policy", "Conditional Access", "Update", Tgt::Policy, 30),
    ("Set Company Information", "DirectoryManagement", "Core Directory", "Update", Tgt::Directory, 25),
    ("Update role setting in PIM", "RoleManagement", "PIM", "Update", Tgt::Role, 25),
    ("Add unverified domain", "DirectoryManagement", "Core Directory", "Add", Tgt::Domain, 20),
    ("Verify domain", "DirectoryManagement", "Core Directory", "Update", Tgt::Domain, 20),
    ("Delete conditional access policy", "Policy", "Conditional Access", "Delete", Tgt::Policy, 15),
    ("Set domain authentication", "DirectoryManagement", "Core Directory", "Update", Tgt::Domain, 15),
    ("Set federation settings on domain", "DirectoryManagement", "Core Directory", "Update", Tgt::Domain, 15),
    ("Add named location", "Policy", "Conditional Access", "Add", Tgt::Policy, 15),
    ("Delete named location", "Policy", "Conditional Access", "Delete", Tgt::Policy, 8),
    ("Add partner to company", "DirectoryManagement", "Core Directory", "Add", Tgt::Directory, 8),
    ("Remove verified domain", "DirectoryManagement", "Core Directory", "Delete", Tgt::Domain, 8),
    ("Update role", "RoleManagement", "Core Directory", "Update", Tgt::Role, 8),
    ("Set directory feature on tenant", "DirectoryManagement", "Core Directory", "Update", Tgt::Directory, 8),
];

/// Directory roles: (name, template id, weight in role activities).
const ROLES: &[(&str, &str, u32)] = &[
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1", 18),
    ("Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8", 16),
    ("Security Reader", "5d6b6bb7-de71-4623-b4af-96380a352509", 14),
    ("Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf", 10),
    ("Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de", 10),
    ("SharePoint Administrator", "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", 8),
    ("Intune Administrator", "3a2c62db-5318-420d-8d74-23affee5d9d5", 8),
    ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", 6),
    ("Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d", 5),
    ("Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7", 4),
    ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10", 3),
    ("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814", 2),
    ("Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13", 1),
    ("Hybrid Identity Administrator", "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", 1),
];

const GROUPS: &[&str] = &[
    "Sales Team",
    "Finance - EMEA",
    "Engineering",
    "All Employees",
    "HR Business Partners",
    "Project Falcon",
    "VPN Users",
    "Intune Pilot",
    "Guests - Partners",
    "Break Glass Exclusions",
    "SSPR Enabled",
    "Helpdesk Tier 1",
];

const GRAPH_PERMISSIONS: &[(&str, u32)] = &[
    ("User.Read", 40),
    ("openid", 30),
    ("profile", 30),
    ("offline_access", 25),
    ("Calendars.Read", 8),
    ("Files.Read", 6),
    ("Mail.Read", 4),
    ("Sites.Read.All", 3),
    ("Mail.ReadWrite", 1),
    ("Mail.Send", 1),
    ("Files.ReadWrite.All", 1),
    ("Directory.ReadWrite.All", 1),
];

const APP_ROLES: &[(&str, u32)] = &[
    ("User.Read.All", 30),
    ("Group.Read.All", 20),
    ("Sites.Selected", 15),
    ("Mail.Send", 8),
    ("Directory.Read.All", 10),
    ("Application.ReadWrite.OwnedBy", 5),
    ("Mail.ReadWrite", 2),
    ("Application.ReadWrite.All", 1),
    ("AppRoleAssignment.ReadWrite.All", 1),
    ("RoleManagement.ReadWrite.Directory", 1),
];

fn prop(name: &str, old: &str, new: &str) -> Vec<u8> {
    obj(|o| {
        o.s("displayName", name);
        o.s("oldValue", old);
        o.s("newValue", new);
    })
}

/// `"x"` as the JSON text Entra writes in modifiedProperties values.
fn q(s: &str) -> String {
    String::from_utf8(jstr(s)).expect("utf-8")
}

fn audit(cfg: &EntraConfig, i: usize, b: &mut Vec<u8>) {
    let seed = cfg.seed;
    let mut r = Rng::new(hash(seed, D_AUDIT, i as u64));
    let t = slot_time(cfg.now, i, cfg.audit, &mut r);
    let w: Vec<(usize, u32)> = ACTIVITIES.iter().enumerate().map(|(k, a)| (k, a.5)).collect();
    let (activity, category, service, optype, tgt, _) = ACTIVITIES[wpick(&mut r, &w)];
    let tid = tenant(seed);
    let target_user = user(seed, r.below(USERS));
    let admin = user(seed, 7 + 60 * r.below(USERS / 60));
    let self_service = matches!(service, "Authentication Methods" | "Self-service Password Management")
        && !activity.starts_with("Admin")
        || activity == "Redeem external user invite"
        || activity == "Consent to application" && r.chance(4, 5)
        || activity.ends_with("requested (PIM activation)");
    let sync = !self_service
        && matches!(
            activity,
            "Update user"
                | "Add user"
                | "Update group"
                | "Add member to group"
                | "Remove member from group"
                | "Delete user"
        )
        && r.chance(1, 2);
    let by_app = !self_service && !sync && r.chance(8, 100);
    // A few directory changes come from an unusual place with an attack tool.
    let odd_origin = r.chance(1, 100);
    let initiator_ip = if odd_origin {
        attacker_ip(&mut r)
    } else if r.chance(7, 10) {
        corp_ip(&mut r)
    } else {
        residential_ip(&mut r)
    };
    let initiator = if self_service { &target_user } else { &admin };
    let (sp_app, sp_id, sp_name) = tenant_app(seed, r.below(SERVICE_PRINCIPALS));
    let initiated_by = if sync {
        obj(|o| {
            o.raw(
                "app",
                &obj(|a| {
                    a.null("appId");
                    a.s("displayName", "Microsoft Entra Connect Sync");
                    a.s("servicePrincipalId", "4e2b8c1a-6f3d-4a5b-9c7e-1d2f3a4b5c6d");
                    a.null("servicePrincipalName");
                }),
            );
        })
    } else if by_app {
        obj(|o| {
            o.raw(
                "app",
                &obj(|a| {
                    a.g("appId", sp_app);
                    a.s("displayName", &sp_name);
                    a.g("servicePrincipalId", sp_id);
                    a.s("servicePrincipalName", &sp_name);
                }),
            );
        })
    } else {
        obj(|o| {
            o.raw(
                "user",
                &obj(|a| {
                    a.g("id", initiator.id);
                    a.null("displayName");
                    a.s("userPrincipalName", &initiator.upn);
                    a.s("ipAddress", &initiator_ip);
                    a.raw("roles", b"[]");
                }),
            );
        })
    };
    let identity = if sync {
        "Microsoft Entra Connect Sync".to_string()
    } else if by_app {
        sp_name.clone()
    } else {
        initiator.display.clone()
    };

    // Targets and what changed.
    let mut props: Vec<Vec<u8>> = Vec::new();
    let mut targets: Vec<Vec<u8>> = Vec::new();
    let user_target = |props: &[Vec<u8>], u: &User| {
        obj(|o| {
            o.g("id", u.id);
            o.null("displayName");
            o.s("type", "User");
            o.s("userPrincipalName", &u.upn);
            o.null("groupType");
            o.raw("modifiedProperties", &arr(props));
            o.raw("administrativeUnits", b"[]");
        })
    };
    let named_target = |kind: &str, id: &str, name: &str, props: &[Vec<u8>]| {
        obj(|o| {
            o.s("id", id);
            o.s("displayName", name);
            o.s("type", kind);
            o.null("userPrincipalName");
            o.null("groupType");
            o.raw("modifiedProperties", &arr(props));
            o.raw("administrativeUnits", b"[]");
        })
    };
    let mut result_reason = String::new();
    let mut failed = r.chance(15, 1000);
    match tgt {
        Tgt::User => {
            match activity {
                "Update user" => {
                    let (names, attr): (&str, Vec<Vec<u8>>) = match r.below(20) {
                        0 => (
                            "StrongAuthenticationMethod",
                            vec![prop(
                                "StrongAuthenticationMethod",
                                "[{\"MethodType\":6,\"Default\":true}]",
                                "[{\"MethodType\":6,\"Default\":true},{\"MethodType\":7,\"Default\":false}]",
                            )],
                        ),
                        1 => ("AccountEnabled", vec![prop("AccountEnabled", "[true]", "[false]")]),
                        2 | 3 => (
                            "Department",
                            vec![prop(
                                "Department",
                                &format!("[{}]", q(r.choose(DEPARTMENTS))),
                                &format!("[{}]", q(r.choose(DEPARTMENTS))),
                            )],
                        ),
                        4 => (
                            "StrongAuthenticationPhoneAppDetail",
                            vec![prop(
                                "StrongAuthenticationPhoneAppDetail",
                                "[]",
                                "[{\"DeviceName\":\"iPhone 15\",\"DeviceTag\":\"SoftwareTokenActivated\"}]",
                            )],
                        ),
                        5 if r.chance(1, 10) => (
                            "UserPrincipalName",
                            vec![prop(
                                "UserPrincipalName",
                                &format!("[{}]", q(&target_user.upn)),
                                &format!("[{}]", q(&format!("svc-{}", target_user.upn))),
                            )],
                        ),
                        _ => (
                            "LastDirSyncTime",
                            vec![prop("LastDirSyncTime", "[\"2026-06-01T02:00:00Z\"]", "[\"2026-07-01T02:00:00Z\"]")],
                        ),
                    };
                    props.extend(attr);
                    props.push(prop("Included Updated Properties", "", &q(names)));
                }
                "Add user" | "Invite external user" => {
                    props.push(prop("AccountEnabled", "[]", "[true]"));
                    props.push(prop("DisplayName", "[]", &format!("[{}]", q(&target_user.display))));
                    props.push(prop("UserPrincipalName", "[]", &format!("[{}]", q(&target_user.upn))));
                    props.push(prop("UserType", "[]", if activity == "Add user" { "[0]" } else { "[1]" }));
                }
                "Change user license" => props.push(prop(
                    "AssignedLicense",
                    "[]",
                    "[\"[SKUName=ENTERPRISEPACK, AccountId=7f1c, SKUId=6fd2c87f, DisabledPlans=[]]\"]",
                )),
                "User registered security info" | "Admin registered security info" => {
                    result_reason = if activity.starts_with("Admin") && r.chance(1, 2) {
                        "Admin registered temporary access pass method for user".to_string()
                    } else {
                        wpick(
                            &mut r,
                            &[
                                ("User registered Authenticator App with Notification and Code", 6),
                                ("User registered Mobile Phone SMS", 2),
                                ("User registered Passkey (Microsoft Authenticator)", 2),
                                ("User registered Fido2 Authentication Method", 1),
                            ],
                        )
                        .to_string()
                    };
                }
                "User deleted security info" | "Admin deleted security info" => {
                    result_reason = "User deleted Authenticator App with Notification and Code".to_string();
                }
                "Disable Strong Authentication" => {
                    props.push(prop("StrongAuthenticationRequirement", "[{\"RelyingParty\":\"*\",\"State\":1}]", "[]"));
                }
                _ => {}
            }
            targets.push(user_target(&props, &target_user));
        }
        Tgt::Group => {
            let g = r.choose(GROUPS);
            let gid = guid_of(hash(seed, D_AUDIT ^ 0x6060, g.len() as u64)).to_string();
            if activity.contains("member") || activity.contains("owner") {
                props.push(prop("Group.ObjectID", "", &q(&gid)));
                props.push(prop("Group.DisplayName", "", &q(g)));
                targets.push(user_target(&props, &target_user));
                targets.push(named_target("Group", &gid, g, &[]));
            } else {
                props.push(prop("DisplayName", "", &format!("[{}]", q(g))));
                targets.push(named_target("Group", &gid, g, &props));
            }
        }
        Tgt::Role => {
            let w: Vec<((&str, &str), u32)> = ROLES.iter().map(|x| ((x.0, x.1), x.2)).collect();
            let (role, template) = wpick(&mut r, &w);
            if activity == "Update role setting in PIM" || activity == "Update role" {
                props.push(prop("RoleDefinitionOriginId", "", &q(template)));
                props.push(prop("IsEnabled", "", "true"));
                props.push(prop(
                    "Rule.Expiration.MaximumDuration",
                    "\"PT8H\"",
                    if r.chance(1, 2) { "\"P365D\"" } else { "\"PT24H\"" },
                ));
                targets.push(named_target("Role", template, role, &props));
            } else {
                props.push(prop("Role.ObjectID", "", &q(template)));
                props.push(prop("Role.DisplayName", "", &q(role)));
                props.push(prop("Role.TemplateId", "", &q(template)));
                props.push(prop("Role.WellKnownObjectName", "", &q(&role.replace(' ', ""))));
                targets.push(named_target("Role", template, role, &[]));
                targets.push(user_target(&props, if self_service { initiator } else { &target_user }));
            }
        }
        Tgt::App | Tgt::Sp => {
            let (app_id, obj_id, name) = tenant_app(seed, r.below(SERVICE_PRINCIPALS));
            match activity {
                "Consent to application" => {
                    let admin_consent = !self_service || r.chance(1, 20);
                    let mut scopes: Vec<&str> = (0..2 + r.below(4)).map(|_| wpick(&mut r, GRAPH_PERMISSIONS)).collect();
                    scopes.dedup();
                    props.push(prop(
                        "ConsentContext.IsAdminConsent",
                        "",
                        &q(if admin_consent { "True" } else { "False" }),
                    ));
                    props.push(prop("ConsentContext.IsAppOnly", "", &q("False")));
                    props.push(prop(
                        "ConsentContext.OnBehalfOfAll",
                        "",
                        &q(if admin_consent { "True" } else { "False" }),
                    ));
                    props.push(prop(
                        "ConsentAction.Permissions",
                        "",
                        &q(&format!(
                            "[] => [[Id: {}, ClientId: {obj_id}, PrincipalId: {}, ResourceId: 5c2f5b4e-2a1d-4c3b-9e8f-7a6b5c4d3e2f, ConsentType: {}, Scope:  {}, CreatedDateTime: , LastModifiedDateTime ]]; ",
                            b64ish(&mut r, 22),
                            if admin_consent { String::new() } else { target_user.id.to_string() },
                            if admin_consent { "AllPrincipals" } else { "Principal" },
                            scopes.join(" ")
                        )),
                    ));
                    if r.chance(1, 40) {
                        failed = true;
                        result_reason =
                            "Microsoft.online.Security.userConsentBlockedForRiskyAppsExceptions".to_string();
                    }
                }
                "Add app role assignment to service principal" => {
                    let role = wpick(&mut r, APP_ROLES);
                    props.push(prop("AppRole.Id", "", &q(&guid(&mut r).to_string())));
                    props.push(prop("AppRole.Value", "", &q(role)));
                    props.push(prop("AppRole.DisplayName", "", &q(role)));
                    props.push(prop("ServicePrincipal.DisplayName", "", &q(&name)));
                }
                "Add service principal credentials" | "Update application – Certificates and secrets management" => {
                    let kind = if r.chance(1, 3) { "AsymmetricX509Cert" } else { "Password" };
                    props.push(prop(
                        "KeyDescription",
                        "[]",
                        &format!(
                            "[{}]",
                            q(&format!(
                                "[KeyIdentifier={}, KeyType={kind}, KeyUsage=Verify, DisplayName=secret-{}]",
                                guid(&mut r),
                                r.below(100)
                            ))
                        ),
                    ));
                    props.push(prop("Included Updated Properties", "", &q("KeyDescription")));
                }
                "Update application" | "Update service principal" => {
                    if r.chance(1, 6) {
                        props.push(prop(
                            "AppAddress",
                            "[]",
                            &format!(
                                "[{{\"AddressType\":0,\"Address\":\"https://{}.contoso.com/signin-oidc\"}}]",
                                name
                            ),
                        ));
                        props.push(prop("Included Updated Properties", "", &q("AppAddress")));
                    } else {
                        props.push(prop("Included Updated Properties", "", &q("Tags")));
                    }
                }
                "Add owner to application" | "Add owner to service principal" => {
                    targets.push(user_target(&[], &target_user));
                }
                _ => props.push(prop("AppId", "", &format!("[{}]", q(&app_id.to_string())))),
            }
            let kind = if tgt == Tgt::App { "Application" } else { "ServicePrincipal" };
            targets.insert(0, named_target(kind, &obj_id.to_string(), &name, &props));
        }
        Tgt::Policy => {
            let (kind, name) = if service == "Conditional Access" {
                if activity.contains("named location") {
                    ("Policy", r.choose(&["Contoso HQ", "Trusted partner ranges", "Blocked countries"]))
                } else {
                    ("Policy", r.choose(CA_POLICIES).1)
                }
            } else if activity == "Update authorization policy" {
                ("Policy", "Authorization Policy")
            } else {
                (
                    "Policy",
                    r.choose(&[
                        "Default Token Lifetime Policy",
                        "Home Realm Discovery Policy",
                        "Authentication Methods Policy",
                    ]),
                )
            };
            let id = guid(&mut r).to_string();
            if activity == "Update authorization policy" {
                props.push(prop(
                    "PermissionGrantPolicyIdsAssignedToDefaultUserRole",
                    "[\"ManagePermissionGrantsForSelf.microsoft-user-default-low\"]",
                    if r.chance(1, 2) {
                        "[\"ManagePermissionGrantsForSelf.microsoft-user-default-legacy\"]"
                    } else {
                        "[]"
                    },
                ));
            } else if activity.contains("conditional access policy") {
                props.push(prop(
                    "ConditionalAccessPolicy",
                    "",
                    &format!(
                        "{{\"displayName\":{},\"state\":\"{}\"}}",
                        q(name),
                        if r.chance(1, 3) { "disabled" } else { "enabled" }
                    ),
                ));
            } else {
                props.push(prop("PolicyDetail", "", "[\"{\\\"Version\\\":1}\"]"));
            }
            targets.push(named_target(kind, &id, name, &props));
        }
        Tgt::Device => {
            let name = format!("CONTOSO-{}", hex(&mut r, 6));
            let id = guid(&mut r).to_string();
            if activity == "Read BitLocker key" {
                result_reason = format!("Read BitLocker key for device {name}");
            }
            if activity.starts_with("Add registered") {
                targets.push(named_target("Device", &id, &name, &[]));
                targets.push(user_target(&props, &target_user));
            } else {
                props.push(prop("Included Updated Properties", "", &q("ApproximateLastLogonTimestamp")));
                targets.push(named_target("Device", &id, &name, &props));
            }
        }
        Tgt::Domain => {
            let d = r.choose(&["contoso-corp.net", "contoso-login.com", "fabrikam-contoso.com", "contoso.co.uk"]);
            if activity.contains("federation") || activity == "Set domain authentication" {
                props.push(prop("LiveType", "\"Managed\"", "\"Federated\""));
                props.push(prop("IssuerUri", "", &q(&format!("http://{d}/adfs/services/trust"))));
            }
            targets.push(named_target("Other", "", d, &props));
        }
        Tgt::Directory => {
            targets.push(named_target("Directory", &tid.to_string(), "Contoso", &props));
        }
    }
    let additional = {
        let ua: &str = if odd_origin {
            wpick(&mut r, ATTACK_UAS)
        } else if sync {
            "Microsoft.Azure.ActiveDirectory.Synchronization.SyncEngine"
        } else {
            r.choose(BROWSER_UAS)
        };
        let kv = |k: &str, v: &str| {
            obj(|o| {
                o.s("key", k);
                o.s("value", v);
            })
        };
        arr(&[kv("User-Agent", ua), kv("UserType", if target_user.guest { "Guest" } else { "Member" })])
    };
    if failed && result_reason.is_empty() {
        result_reason = "Insufficient privileges to complete the operation.".to_string();
    }
    let correlation = guid(&mut r);
    let mut o = Obj::new(b);
    o.s("AADOperationType", optype);
    o.g("AADTenantId", tid);
    o.t("ActivityDateTime", t);
    o.s("ActivityDisplayName", activity);
    o.raw("AdditionalDetails", &additional);
    o.s("Category", category);
    o.g("CorrelationId", correlation);
    o.i("DurationMs", 0);
    o.s("Id", &format!("Directory_{}_{}", correlation.to_string()[..8].to_uppercase(), hex(&mut r, 5)));
    o.s("Identity", &identity);
    o.raw("InitiatedBy", &initiated_by);
    o.s("Level", "4");
    o.s("Location", "");
    o.s("LoggedByService", service);
    o.s("OperationName", activity);
    o.s("OperationVersion", "1.0");
    o.s("Resource", "Microsoft.aadiam");
    o.s("ResourceGroup", "Microsoft.aadiam");
    o.s("ResourceId", &format!("/tenants/{tid}/providers/Microsoft.aadiam"));
    o.s("ResourceProvider", "Microsoft.aadiam");
    o.s("Result", if failed { "failure" } else { "success" });
    o.s("ResultDescription", "");
    o.s("ResultReason", &result_reason);
    o.s("ResultSignature", "None");
    o.s("ResultType", "");
    o.s("SourceSystem", "Azure AD");
    o.raw("TargetResources", &arr(&targets));
    o.t("TimeGenerated", t);
    o.s("Type", "AuditLogs");
    o.end();
}

// ---------------------------------------------------------------- AzureActivity

/// Resource Manager operations: (operation, display name, category, weight per 100,000).
const OPERATIONS: &[(&str, &str, &str, u32)] = &[
    ("Microsoft.Authorization/policies/audit/action", "'audit' Policy action.", "Policy", 22000),
    ("Microsoft.Authorization/policies/auditIfNotExists/action", "'auditIfNotExists' Policy action.", "Policy", 9000),
    ("Microsoft.Authorization/policies/deployIfNotExists/action", "'deployIfNotExists' Policy action.", "Policy", 2000),
    ("Microsoft.Authorization/policies/deny/action", "'deny' Policy action.", "Policy", 300),
    ("Microsoft.Resources/deployments/write", "Create Deployment", "Administrative", 6000),
    ("Microsoft.Resources/deployments/validate/action", "Validate Deployment", "Administrative", 2000),
    ("Microsoft.Compute/virtualMachines/write", "Create or Update Virtual Machine", "Administrative", 5000),
    ("Microsoft.Compute/virtualMachines/start/action", "Start Virtual Machine", "Administrative", 3000),
    ("Microsoft.Compute/virtualMachines/deallocate/action", "Deallocate Virtual Machine", "Administrative", 3000),
    ("Microsoft.Compute/virtualMachines/restart/action", "Restart Virtual Machine", "Administrative", 800),
    ("Microsoft.Compute/virtualMachines/delete", "Delete Virtual Machine", "Administrative", 300),
    (
        "Microsoft.Compute/virtualMachines/extensions/write",
        "Create or Update Virtual Machine Extension",
        "Administrative",
        800,
    ),
    ("Microsoft.Compute/virtualMachines/extensions/delete", "Delete Virtual Machine Extension", "Administrative", 30),
    ("Microsoft.Compute/virtualMachines/runCommand/action", "Run Command on Virtual Machine", "Administrative", 60),
    ("Microsoft.Compute/disks/write", "Create or Update Disk", "Administrative", 2000),
    ("Microsoft.Compute/disks/beginGetAccess/action", "Get Disk SAS URI", "Administrative", 60),
    ("Microsoft.Compute/snapshots/write", "Create or Update Snapshot", "Administrative", 600),
    (
        "Microsoft.Network/networkSecurityGroups/write",
        "Create or Update Network Security Group",
        "Administrative",
        1200,
    ),
    (
        "Microsoft.Network/networkSecurityGroups/securityRules/write",
        "Create or Update Security Rule",
        "Administrative",
        900,
    ),
    ("Microsoft.Network/networkSecurityGroups/securityRules/delete", "Delete Security Rule", "Administrative", 200),
    ("Microsoft.Network/networkSecurityGroups/delete", "Delete Network Security Group", "Administrative", 60),
    ("Microsoft.Network/networkInterfaces/write", "Create or Update Network Interface", "Administrative", 1500),
    ("Microsoft.Network/publicIPAddresses/write", "Create or Update Public Ip Address", "Administrative", 500),
    ("Microsoft.Network/virtualNetworks/write", "Create or Update Virtual Network", "Administrative", 400),
    (
        "Microsoft.Network/virtualNetworks/subnets/write",
        "Create or Update Virtual Network Subnet",
        "Administrative",
        400,
    ),
    ("Microsoft.Network/dnsZones/A/write", "Create or Update record set of type A", "Administrative", 300),
    (
        "Microsoft.Network/firewallPolicies/ruleCollectionGroups/write",
        "Create or Update Rule Collection Group",
        "Administrative",
        100,
    ),
    ("Microsoft.Network/azureFirewalls/write", "Create or Update Azure Firewall", "Administrative", 50),
    ("Microsoft.Network/firewallPolicies/delete", "Delete Firewall Policy", "Administrative", 15),
    (
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies/write",
        "Create or Update Web Application Firewall Policy",
        "Administrative",
        30,
    ),
    (
        "Microsoft.Network/virtualNetworkGateways/write",
        "Create or Update Virtual Network Gateway",
        "Administrative",
        15,
    ),
    ("Microsoft.Storage/storageAccounts/listKeys/action", "List Storage Account Keys", "Administrative", 5000),
    ("Microsoft.Storage/storageAccounts/write", "Create/Update Storage Account", "Administrative", 2000),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/write", "Put blob container", "Administrative", 500),
    ("Microsoft.Storage/storageAccounts/regenerateKey/action", "Regenerate Storage Account Keys", "Administrative", 40),
    ("Microsoft.Storage/storageAccounts/delete", "Delete Storage Account", "Administrative", 40),
    ("Microsoft.KeyVault/vaults/write", "Update Key Vault", "Administrative", 400),
    ("Microsoft.KeyVault/vaults/secrets/write", "Write Secret", "Administrative", 300),
    ("Microsoft.KeyVault/vaults/accessPolicies/write", "Update Access Policy", "Administrative", 100),
    ("Microsoft.KeyVault/vaults/delete", "Delete Key Vault", "Administrative", 15),
    ("Microsoft.Authorization/roleAssignments/write", "Create role assignment", "Administrative", 400),
    ("Microsoft.Authorization/roleAssignments/delete", "Delete role assignment", "Administrative", 200),
    ("Microsoft.Authorization/roleDefinitions/write", "Create or update custom role definition", "Administrative", 20),
    ("Microsoft.Authorization/policyAssignments/write", "Create policy assignment", "Administrative", 100),
    ("Microsoft.Authorization/policyAssignments/delete", "Delete policy assignment", "Administrative", 20),
    ("Microsoft.Authorization/policyExemptions/write", "Create a policy exemption", "Administrative", 20),
    ("Microsoft.Authorization/locks/delete", "Delete management locks", "Administrative", 20),
    (
        "Microsoft.Authorization/elevateAccess/action",
        "Assigns the caller to User Access Administrator role",
        "Administrative",
        12,
    ),
    (
        "Microsoft.Insights/diagnosticSettings/write",
        "Create or update resource diagnostic setting",
        "Administrative",
        300,
    ),
    ("Microsoft.Insights/diagnosticSettings/delete", "Delete resource diagnostic setting", "Administrative", 30),
    ("Microsoft.Insights/activityLogAlerts/delete", "Delete activity log alert", "Administrative", 15),
    ("Microsoft.OperationalInsights/workspaces/write", "Create Workspace", "Administrative", 100),
    ("Microsoft.OperationalInsights/workspaces/sharedKeys/action", "List Workspace Shared Keys", "Administrative", 200),
    ("Microsoft.OperationalInsights/workspaces/delete", "Delete Workspace", "Administrative", 8),
    ("Microsoft.Web/sites/write", "Create or Update Web App", "Administrative", 1000),
    ("Microsoft.Web/sites/config/write", "Update Web App Configuration", "Administrative", 600),
    ("Microsoft.Web/sites/restart/action", "Restart Web App", "Administrative", 300),
    ("Microsoft.Web/sites/publishxml/action", "Get publishing profile for Web App", "Administrative", 100),
    ("Microsoft.Sql/servers/databases/write", "Create/Update SQL database", "Administrative", 200),
    ("Microsoft.Sql/servers/firewallRules/write", "Create/Update server firewall rule", "Administrative", 100),
    ("Microsoft.ContainerService/managedClusters/write", "Create or Update Managed Cluster", "Administrative", 300),
    (
        "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        "List clusterUser credential",
        "Administrative",
        300,
    ),
    (
        "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
        "List clusterAdmin credential",
        "Administrative",
        100,
    ),
    ("Microsoft.Kubernetes/connectedClusters/write", "Create or Update Connected Cluster", "Administrative", 20),
    ("Microsoft.Automation/automationAccounts/jobs/write", "Create an Azure Automation job", "Administrative", 300),
    (
        "Microsoft.Automation/automationAccounts/runbooks/write",
        "Create or Update an Azure Automation Runbook",
        "Administrative",
        40,
    ),
    (
        "Microsoft.Automation/automationAccounts/webhooks/write",
        "Create or Update an Azure Automation webhook",
        "Administrative",
        10,
    ),
    ("Microsoft.Logic/workflows/write", "Create or update workflow", "Administrative", 200),
    ("Microsoft.Devices/IotHubs/write", "Create or update IotHub Resource", "Administrative", 20),
    ("Microsoft.Security/pricings/write", "Update Pricing", "Administrative", 20),
    ("Microsoft.Resources/subscriptions/resourceGroups/write", "Update resource group", "Administrative", 500),
    ("Microsoft.Resources/subscriptions/resourceGroups/delete", "Delete resource group", "Administrative", 50),
    ("Microsoft.Resources/tags/write", "Write Tags", "Administrative", 600),
    ("Microsoft.ContainerRegistry/registries/write", "Create or Update Container Registry", "Administrative", 50),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities/write",
        "Create or update user assigned identity",
        "Administrative",
        50,
    ),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
        "Create or update federated identity credential",
        "Administrative",
        10,
    ),
    ("Microsoft.Security/locations/alerts/activate/action", "Activate an alert", "Security", 100),
    ("Microsoft.ResourceHealth/healthevent/Activated/action", "Health Event Activated", "ResourceHealth", 1500),
    ("Microsoft.ResourceHealth/healthevent/Resolved/action", "Health Event Resolved", "ResourceHealth", 1500),
    ("Microsoft.ServiceHealth/incident/action", "Service Health incident", "ServiceHealth", 100),
    ("Microsoft.Insights/AutoscaleSettings/Scaleup/Action", "Autoscale scale up", "Autoscale", 500),
    ("Microsoft.Advisor/recommendations/available/action", "Recommendation available", "Recommendation", 400),
    ("Microsoft.Insights/metricAlerts/Activated/Action", "Metric alert activated", "Alert", 300),
];

const RESOURCE_GROUPS: &[&str] = &[
    "rg-prod-weu",
    "rg-prod-neu",
    "rg-shared-services",
    "rg-dev-eus",
    "rg-data-platform",
    "rg-identity",
    "rg-network-hub",
    "rg-aks-prod",
];

/// `/subscriptions/s/resourceGroups/rg/providers/Provider/type1/name1[/type2/name2]` for an operation.
fn resource_path(op: &str, sub: Guid, rg: &str, r: &mut Rng) -> (String, String, String) {
    let segs: Vec<&str> = op.split('/').collect();
    let provider = segs[0];
    let verb_len = if segs.last().is_some_and(|s| s.eq_ignore_ascii_case("action")) { 2 } else { 1 };
    let types: Vec<&str> = segs[1..segs.len() - verb_len].to_vec();
    if provider.eq_ignore_ascii_case("Microsoft.Resources") && types.first() == Some(&"subscriptions") {
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg}");
        return (id, rg.to_string(), "Microsoft.Resources".to_string());
    }
    if provider.eq_ignore_ascii_case("Microsoft.Authorization") && types.first() == Some(&"policies")
        || matches!(provider, "Microsoft.ResourceHealth" | "Microsoft.ServiceHealth" | "Microsoft.Advisor")
        || types.is_empty()
    {
        // Policy, health and advisor events are about some other resource.
        let name = format!("vm-app-{:02}", r.below(40));
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}");
        return (id, name, "Microsoft.Compute".to_string());
    }
    let mut id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}");
    let mut last = String::new();
    for t in types {
        let name = match t {
            "virtualMachines" => format!("vm-app-{:02}", r.below(40)),
            "storageAccounts" => format!("stcontoso{}", r.below(30)),
            "vaults" => format!("kv-contoso-{}", r.below(8)),
            "sites" => format!("app-contoso-{}", r.below(20)),
            "managedClusters" | "connectedClusters" => format!("aks-prod-{}", r.below(4)),
            "workspaces" => "law-sentinel-prod".to_string(),
            "deployments" => format!("deploy-{}", hex(r, 8).to_lowercase()),
            "roleAssignments" | "roleDefinitions" | "policyAssignments" | "policyExemptions" | "locks"
            | "diagnosticSettings" => guid(r).to_string(),
            "securityRules" => format!("allow-{}", r.choose(&["https", "rdp", "ssh", "sql", "any"])),
            _ => format!("{}-{}", t.to_lowercase().trim_end_matches('s'), r.below(20)),
        };
        id.push('/');
        id.push_str(t);
        id.push('/');
        id.push_str(&name);
        last = name;
    }
    (id, last, provider.to_string())
}

fn activity(cfg: &EntraConfig, i: usize, b: &mut Vec<u8>) {
    let seed = cfg.seed;
    let mut r = Rng::new(hash(seed, D_ACTIVITY, i as u64));
    let t = slot_time(cfg.now, i, cfg.activity, &mut r);
    let w: Vec<(usize, u32)> = OPERATIONS.iter().enumerate().map(|(k, o)| (k, o.3)).collect();
    let (op, display, category, _) = OPERATIONS[wpick(&mut r, &w)];
    let tid = tenant(seed);
    let sub = subscription(seed, r.below(6));
    let rg = r.choose(RESOURCE_GROUPS);
    let (resource_id, resource, provider) = resource_path(op, sub, rg, &mut r);
    let is_event =
        matches!(category, "ResourceHealth" | "ServiceHealth" | "Autoscale" | "Recommendation" | "Alert" | "Security");
    // Who: an admin, a deployment pipeline's service principal, or nobody (platform events).
    let odd = r.chance(1, 100);
    let by_sp = !is_event && r.chance(45, 100);
    let admin = user(seed, 7 + 60 * r.below(USERS / 60));
    let (sp_app, sp_id, _) = tenant_app(seed, r.below(12));
    let caller = if is_event {
        String::new()
    } else if by_sp {
        sp_id.to_string()
    } else {
        admin.upn.clone()
    };
    let caller_ip = if is_event {
        String::new()
    } else if odd {
        attacker_ip(&mut r)
    } else if by_sp {
        azure_ip(&mut r)
    } else if r.chance(7, 10) {
        corp_ip(&mut r)
    } else {
        residential_ip(&mut r)
    };
    // Status.
    let policy = category == "Policy";
    let (status, status_display) = if policy || is_event {
        ("Success", "Succeeded")
    } else {
        wpick(
            &mut r,
            &[
                (("Start", "Started"), 44),
                (("Success", "Succeeded"), 46),
                (("Accept", "Accepted"), 6),
                (("Failure", "Failed"), 4),
            ],
        )
    };
    let (substatus, substatus_display) = match status {
        "Success" if policy || is_event => ("", ""),
        "Success" => {
            if op.ends_with("/write") && r.chance(1, 3) {
                ("Created", "Created (HTTP Status Code: 201)")
            } else {
                ("OK", "OK (HTTP Status Code: 200)")
            }
        }
        "Accept" => ("Accepted", "Accepted (HTTP Status Code: 202)"),
        "Failure" => wpick(
            &mut r,
            &[
                (("Forbidden", "Forbidden (HTTP Status Code: 403)"), 4),
                (("Conflict", "Conflict (HTTP Status Code: 409)"), 3),
                (("BadRequest", "Bad Request (HTTP Status Code: 400)"), 3),
            ],
        ),
        _ => ("", ""),
    };
    let level = match (status, category) {
        ("Failure", _) => "Error",
        (_, "Policy") if op.contains("/deny/") => "Error",
        (_, "Policy") => "Warning",
        (_, "ServiceHealth" | "Security") => "Warning",
        _ => "Informational",
    };
    let upper = r.chance(85, 100);
    let op_value = if upper { op.to_uppercase() } else { op.to_string() };
    let correlation = guid(&mut r);
    let event_id = guid(&mut r);
    let operation_id = guid(&mut r);
    let submitted = Ts(t.0 + (5 + r.below(120) as i64) * TICKS_PER_SEC);
    let hierarchy = format!("{tid}/mg-contoso-root/mg-landing-zones/{sub}");
    let method = if op.ends_with("/delete") {
        "DELETE"
    } else if op.ends_with("/write") {
        "PUT"
    } else {
        "POST"
    };
    let scope = if op.contains("roleAssignments") {
        format!("/subscriptions/{sub}/resourceGroups/{rg}")
    } else {
        resource_id.clone()
    };
    let role = if by_sp { "Contributor" } else { r.choose(&["Owner", "Contributor", "User Access Administrator"]) };
    let authorization = if is_event {
        Vec::new()
    } else {
        obj(|o| {
            o.s("action", op);
            o.s("scope", &scope);
            o.raw(
                "evidence",
                &obj(|e| {
                    e.s("role", role);
                    e.s("roleAssignmentScope", &format!("/subscriptions/{sub}"));
                    e.s("roleAssignmentId", &hex(&mut r, 32).to_lowercase());
                    e.s("roleDefinitionId", "b24988ac618042a0ab8820f7382dd24c");
                    e.s("principalId", &if by_sp { sp_id } else { admin.id }.to_string().replace('-', ""));
                    e.s("principalType", if by_sp { "ServicePrincipal" } else { "User" });
                }),
            );
        })
    };
    let claims = if is_event {
        Vec::new()
    } else {
        let iat = t.0 / TICKS_PER_SEC - 600 - r.below(3000) as i64;
        obj(|o| {
            o.s("aud", "https://management.core.windows.net/");
            o.s("iss", &format!("https://sts.windows.net/{tid}/"));
            o.s("iat", &iat.to_string());
            o.s("nbf", &iat.to_string());
            o.s("exp", &(iat + 4500).to_string());
            o.s("aio", &b64ish(&mut r, 40));
            o.s("appid", &if by_sp { sp_app.to_string() } else { "c44b4083-3bb0-49c1-b47d-974e53cbdf3c".to_string() });
            o.s("appidacr", if by_sp { "1" } else { "2" });
            o.s(
                "http://schemas.microsoft.com/identity/claims/identityprovider",
                &format!("https://sts.windows.net/{tid}/"),
            );
            o.s(
                "http://schemas.microsoft.com/identity/claims/objectidentifier",
                &if by_sp { sp_id } else { admin.id }.to_string(),
            );
            o.s("http://schemas.microsoft.com/identity/claims/tenantid", &tid.to_string());
            if !by_sp {
                o.s("http://schemas.microsoft.com/claims/authnmethodsreferences", "pwd,mfa");
                o.s("name", &admin.display);
                o.s("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", &admin.upn);
                o.s("http://schemas.microsoft.com/identity/claims/scope", "user_impersonation");
            }
            o.s("ipaddr", &caller_ip);
            o.s("uti", &b64ish(&mut r, 22));
            o.s("ver", "1.0");
            o.s("xms_tcdt", "1469565974");
        })
    };
    let http = if is_event {
        Vec::new()
    } else {
        obj(|o| {
            o.g("clientRequestId", guid(&mut r));
            o.s("clientIpAddress", &caller_ip);
            o.s("method", method);
        })
    };
    let properties = obj(|o| {
        o.s("eventCategory", category);
        o.s("entity", &resource_id);
        o.s("message", op);
        o.s("hierarchy", &hierarchy);
        if policy {
            o.s(
                "policies",
                &format!(
                    "[{{\"policyDefinitionName\":\"{}\",\"policyDefinitionEffect\":\"{}\",\"policyAssignmentName\":\"asc-default\"}}]",
                    hex(&mut r, 8).to_lowercase(),
                    op.split('/').nth(2).unwrap_or("audit")
                ),
            );
            o.s("isComplianceCheck", "False");
            o.s("ancestors", "mg-contoso-root,mg-landing-zones");
        } else if !is_event {
            o.s("statusCode", if substatus.is_empty() { "OK" } else { substatus });
            o.g("serviceRequestId", guid(&mut r));
            if op.contains("roleAssignments/write") {
                o.s(
                    "requestbody",
                    &format!(
                        "{{\"Id\":\"{}\",\"Properties\":{{\"PrincipalId\":\"{}\",\"PrincipalType\":\"User\",\"RoleDefinitionId\":\"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635\",\"Scope\":\"{scope}\"}}}}",
                        guid(&mut r),
                        guid(&mut r)
                    ),
                );
            }
        } else {
            o.s("title", display);
            o.s("currentHealthStatus", if op.contains("Resolved") { "Available" } else { "Degraded" });
        }
    });
    let dynamic_or_empty = |o: &mut Obj<'_>, k: &str, json: &[u8]| {
        if json.is_empty() {
            o.raw(k, b"{}");
        } else {
            o.raw(k, json);
        }
    };
    let text_or_empty = |o: &mut Obj<'_>, k: &str, json: &[u8]| {
        if json.is_empty() {
            o.s(k, "");
        } else {
            o.text(k, json);
        }
    };
    let mut o = Obj::new(b);
    o.s("ActivityStatus", status_display);
    o.s("ActivityStatusValue", status);
    o.s("ActivitySubstatus", substatus_display);
    o.s("ActivitySubstatusValue", substatus);
    text_or_empty(&mut o, "Authorization", &authorization);
    dynamic_or_empty(&mut o, "Authorization_d", &authorization);
    o.s("Caller", &caller);
    o.s("CallerIpAddress", &caller_ip);
    o.s("Category", category);
    o.s("CategoryValue", category);
    text_or_empty(&mut o, "Claims", &claims);
    dynamic_or_empty(&mut o, "Claims_d", &claims);
    o.g("CorrelationId", correlation);
    o.g("EventDataId", event_id);
    o.t("EventSubmissionTimestamp", submitted);
    o.s("Hierarchy", &hierarchy);
    text_or_empty(&mut o, "HTTPRequest", &http);
    o.s("Level", level);
    o.g("OperationId", operation_id);
    o.s("OperationName", display);
    o.s("OperationNameValue", &op_value);
    o.text("Properties", &properties);
    o.raw("Properties_d", &properties);
    o.s("Resource", &resource.to_uppercase());
    o.s("ResourceGroup", &rg.to_uppercase());
    o.s("ResourceId", &resource_id.to_uppercase());
    o.s("ResourceProvider", &provider);
    o.s("ResourceProviderValue", &provider.to_uppercase());
    o.s("SourceSystem", "Azure");
    o.g("SubscriptionId", sub);
    o.g("TenantId", workspace(seed));
    o.t("TimeGenerated", t);
    o.s("Type", "AzureActivity");
    o.end();
}

// ---------------------------------------------------------------- AADUserRiskEvents

/// (risk event type, weight, user-level detection, source)
const RISK_TYPES: &[(&str, u32, bool, &str)] = &[
    ("unfamiliarFeatures", 300, false, "IdentityProtection"),
    ("anonymizedIPAddress", 120, false, "IdentityProtection"),
    ("unlikelyTravel", 100, false, "IdentityProtection"),
    ("maliciousIPAddress", 50, false, "IdentityProtection"),
    ("mcasImpossibleTravel", 40, false, "MicrosoftCloudAppSecurity"),
    ("newCountry", 40, false, "MicrosoftCloudAppSecurity"),
    ("leakedCredentials", 35, true, "IdentityProtection"),
    ("anomalousToken", 35, false, "IdentityProtection"),
    ("riskyIPAddress", 30, false, "MicrosoftCloudAppSecurity"),
    ("passwordSpray", 30, false, "IdentityProtection"),
    ("investigationsThreatIntelligence", 25, true, "IdentityProtection"),
    ("suspiciousBrowser", 25, false, "IdentityProtection"),
    ("mcasSuspiciousInboxManipulationRules", 15, false, "MicrosoftCloudAppSecurity"),
    ("generic", 15, false, "IdentityProtection"),
    ("suspiciousInboxForwarding", 10, false, "MicrosoftCloudAppSecurity"),
    ("tokenIssuerAnomaly", 8, false, "IdentityProtection"),
    ("adminConfirmedUserCompromised", 8, true, "IdentityProtection"),
    ("anomalousUserActivity", 8, true, "IdentityProtection"),
    ("suspiciousAPITraffic", 6, true, "IdentityProtection"),
    ("attackerinTheMiddle", 5, false, "IdentityProtection"),
    ("suspiciousSendingPatterns", 5, true, "MicrosoftCloudAppSecurity"),
    ("attemptedPrtAccess", 4, true, "IdentityProtection"),
    ("mfaFraud", 4, true, "IdentityProtection"),
    ("userReportedSuspiciousActivity", 4, true, "IdentityProtection"),
    ("nationStateIP", 3, false, "IdentityProtection"),
];

fn risk(cfg: &EntraConfig, i: usize, b: &mut Vec<u8>) {
    let seed = cfg.seed;
    let mut r = Rng::new(hash(seed, D_RISK, i as u64));
    let t = slot_time(cfg.now, i, cfg.risk, &mut r);
    let w: Vec<(usize, u32)> = RISK_TYPES.iter().enumerate().map(|(k, x)| (k, x.1)).collect();
    let (kind, _, user_level, source) = RISK_TYPES[wpick(&mut r, &w)];
    let u = user(seed, r.below(USERS));
    let high = matches!(
        kind,
        "maliciousIPAddress"
            | "leakedCredentials"
            | "adminConfirmedUserCompromised"
            | "attackerinTheMiddle"
            | "nationStateIP"
            | "anomalousToken"
    );
    let level = if kind == "adminConfirmedUserCompromised" {
        "high"
    } else if high {
        wpick(&mut r, &[("high", 6), ("medium", 3), ("low", 1)])
    } else {
        wpick(&mut r, &[("low", 5), ("medium", 4), ("high", 1)])
    };
    let (state, detail) = if kind == "adminConfirmedUserCompromised" {
        ("confirmedCompromised", "adminConfirmedUserCompromised")
    } else {
        wpick(
            &mut r,
            &[
                (("atRisk", "none"), 35),
                (("remediated", "userPerformedSecuredPasswordReset"), 25),
                (("remediated", "userPassedMFADrivenByRiskBasedPolicy"), 15),
                (("dismissed", "adminDismissedAllRiskForUser"), 15),
                (("dismissed", "aiConfirmedSigninSafe"), 7),
                (("confirmedCompromised", "adminConfirmedUserCompromised"), 3),
            ],
        )
    };
    let away = matches!(
        kind,
        "anonymizedIPAddress"
            | "maliciousIPAddress"
            | "unlikelyTravel"
            | "mcasImpossibleTravel"
            | "newCountry"
            | "nationStateIP"
            | "passwordSpray"
            | "riskyIPAddress"
    ) || r.chance(1, 3);
    let (ip, geo) = if user_level {
        (String::new(), None)
    } else if away {
        (attacker_ip(&mut r), Some(wpick(&mut r, AWAY)))
    } else {
        (residential_ip(&mut r), Some(u.home))
    };
    let timing =
        if user_level { "offline" } else { wpick(&mut r, &[("realtime", 5), ("offline", 4), ("nearRealtime", 1)]) };
    let activity_time = Ts(t.0 - (if timing == "realtime" { 0 } else { 60 + r.below(36_000) as i64 }) * TICKS_PER_SEC);
    let updated = Ts(t.0 + r.below(7 * 86_400) as i64 * TICKS_PER_SEC);
    let ua = if user_level { "" } else { r.choose(BROWSER_UAS) };
    let additional = {
        let kv = |k: &str, v: &[u8]| {
            obj(|o| {
                o.s("Key", k);
                o.raw("Value", v);
            })
        };
        let mut items = vec![kv("userAgent", &jstr(ua))];
        items.push(kv("alertUrl", b"null"));
        if kind == "unlikelyTravel" || kind == "mcasImpossibleTravel" {
            items.push(kv("relatedLocation", &location_json(&u.home)));
        }
        items.push(kv(
            "mitreTechniques",
            &jstr(if kind.contains("Inbox") { "T1564.008,T1114.003" } else { "T1078.004" }),
        ));
        arr(&items)
    };
    let location = geo.map(|g| location_json(&g)).unwrap_or_else(|| b"{}".to_vec());
    let mut o = Obj::new(b);
    o.s("Activity", if user_level { "user" } else { "signin" });
    o.t("ActivityDateTime", activity_time);
    o.raw("AdditionalInfo", &additional);
    o.g("CorrelationId", guid(&mut r));
    o.t("DetectedDateTime", t);
    o.s("DetectionTimingType", timing);
    o.s("Id", &hex(&mut r, 64).to_lowercase());
    o.s("IpAddress", &ip);
    o.t("LastUpdatedDateTime", updated);
    o.raw("Location", &location);
    o.s("OperationName", "User Risk Detection");
    if user_level {
        o.s("RequestId", "");
    } else {
        o.g("RequestId", guid(&mut r));
    }
    o.s("RiskDetail", detail);
    o.s("RiskEventType", kind);
    o.s("RiskLevel", level);
    o.s("RiskState", state);
    o.s("Source", source);
    o.s("SourceSystem", "Azure AD");
    o.g("TenantId", workspace(seed));
    o.t("TimeGenerated", t);
    o.s("TokenIssuerType", "AzureAD");
    o.s("Type", "AADUserRiskEvents");
    o.s("UserDisplayName", &u.display);
    o.g("UserId", u.id);
    o.s("UserPrincipalName", &u.upn);
    o.end();
}

// ---------------------------------------------------------------- writing

/// Renders rows `first..end` of `table`; sign-ins go to two buffers
/// (SigninLogs, AADNonInteractiveUserSignInLogs), the others to the first.
fn render_rows(cfg: &EntraConfig, table: EntraTable, first: usize, end: usize) -> [Vec<u8>; 2] {
    let mut out = [Vec::with_capacity(1 << 20), Vec::new()];
    let eol: &[u8] = if cfg.crlf { b"\r\n" } else { b"\n" };
    let mut tmp = Vec::with_capacity(8192);
    for i in first..end {
        tmp.clear();
        let slot = match table {
            EntraTable::SigninLogs | EntraTable::AADNonInteractiveUserSignInLogs => {
                if signin(cfg, i, &mut tmp) {
                    0
                } else {
                    1
                }
            }
            EntraTable::AuditLogs => {
                audit(cfg, i, &mut tmp);
                0
            }
            EntraTable::AzureActivity => {
                activity(cfg, i, &mut tmp);
                0
            }
            EntraTable::AADUserRiskEvents => {
                risk(cfg, i, &mut tmp);
                0
            }
        };
        out[slot].extend_from_slice(&tmp);
        out[slot].extend_from_slice(eol);
    }
    out
}

/// Renders every table into memory (tests and small datasets).
pub fn render_entra(cfg: &EntraConfig) -> BTreeMap<EntraTable, Vec<u8>> {
    let mut m = BTreeMap::new();
    let [a, b] = render_rows(cfg, EntraTable::SigninLogs, 0, cfg.signin);
    m.insert(EntraTable::SigninLogs, a);
    m.insert(EntraTable::AADNonInteractiveUserSignInLogs, b);
    m.insert(
        EntraTable::AuditLogs,
        render_rows(cfg, EntraTable::AuditLogs, 0, cfg.audit).into_iter().next().expect("buf"),
    );
    m.insert(
        EntraTable::AzureActivity,
        render_rows(cfg, EntraTable::AzureActivity, 0, cfg.activity).into_iter().next().expect("buf"),
    );
    m.insert(
        EntraTable::AADUserRiskEvents,
        render_rows(cfg, EntraTable::AADUserRiskEvents, 0, cfg.risk).into_iter().next().expect("buf"),
    );
    m
}

/// Writes `<dir>/<table>.json` for the five tables (replacing them; other files
/// in `dir` are left alone). Rows are rendered in chunks on worker threads and
/// written in order.
pub fn write_entra(cfg: &EntraConfig, dir: &Path) -> io::Result<EntraSummary> {
    fs::create_dir_all(dir)?;
    let mut summary = EntraSummary::default();
    let path = |t: EntraTable| dir.join(t.file_name());
    let mut files: Vec<BufWriter<File>> = EntraTable::ALL
        .iter()
        .map(|&t| File::create(path(t)).map(|f| BufWriter::with_capacity(1 << 20, f)))
        .collect::<io::Result<_>>()?;
    let jobs = [
        (EntraTable::SigninLogs, cfg.signin, [0usize, 1]),
        (EntraTable::AuditLogs, cfg.audit, [2, 2]),
        (EntraTable::AzureActivity, cfg.activity, [3, 3]),
        (EntraTable::AADUserRiskEvents, cfg.risk, [4, 4]),
    ];
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
    for (table, n, slots) in jobs {
        let chunks = n.div_ceil(CHUNK);
        let mut emit = |bufs: [Vec<u8>; 2], summary: &mut EntraSummary| -> io::Result<()> {
            for (k, buf) in bufs.iter().enumerate() {
                if buf.is_empty() {
                    continue;
                }
                let slot = slots[k];
                files[slot].write_all(buf)?;
                summary.bytes[slot] += buf.len() as u64;
                summary.rows[slot] += buf.iter().filter(|&&c| c == b'\n').count() as u64;
            }
            Ok(())
        };
        let render = |c: usize| render_rows(cfg, table, c * CHUNK, ((c + 1) * CHUNK).min(n));
        if workers <= 1 || chunks <= 1 {
            for c in 0..chunks {
                emit(render(c), &mut summary)?;
            }
            continue;
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| -> io::Result<()> {
            let (tx, rx) = sync_channel::<(usize, [Vec<u8>; 2])>(workers * 2);
            for _ in 0..workers {
                let tx = tx.clone();
                let next = &next;
                let render = &render;
                s.spawn(move || {
                    loop {
                        let c = next.fetch_add(1, Ordering::Relaxed);
                        if c >= chunks || tx.send((c, render(c))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut pending = BTreeMap::new();
            let mut want = 0;
            for (c, bufs) in rx.iter() {
                pending.insert(c, bufs);
                while let Some(bufs) = pending.remove(&want) {
                    if let Err(e) = emit(bufs, &mut summary) {
                        next.store(chunks, Ordering::Relaxed);
                        return Err(e);
                    }
                    want += 1;
                }
            }
            Ok(())
        })?;
    }
    for f in &mut files {
        f.flush()?;
    }
    summary.files = EntraTable::ALL.iter().map(|&t| path(t)).collect();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn cfg(seed: u64) -> EntraConfig {
        EntraConfig { seed, signin: 3000, audit: 2500, activity: 2500, risk: 600, ..EntraConfig::default() }
    }

    /// `columns:` of `tables/<table>.yml`: name -> type.
    fn columns(table: &str) -> BTreeMap<String, String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tables").join(format!("{table}.yml"));
        let text = fs::read_to_string(&path).expect("table definition");
        let rest = text.split("\ncolumns:\n").nth(1).expect("columns section");
        rest.lines()
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.trim().split_once(": "))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a = render_entra(&cfg(7));
        assert_eq!(a, render_entra(&cfg(7)));
        let b = render_entra(&cfg(8));
        for t in EntraTable::ALL {
            assert_ne!(a[&t], b[&t], "{t:?}");
        }
    }

    #[test]
    fn threaded_writer_equals_rendering_and_counts_are_exact() {
        let c = EntraConfig { signin: 3 * CHUNK + 17, audit: 2 * CHUNK + 5, activity: CHUNK + 1, risk: 3, ..cfg(11) };
        let dir = std::env::temp_dir().join(format!("sigcorr-entra-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let s = write_entra(&c, &dir).expect("write");
        let mem = render_entra(&c);
        for t in EntraTable::ALL {
            let bytes = fs::read(dir.join(t.file_name())).expect("file");
            assert_eq!(bytes, mem[&t], "{t:?}");
            assert_eq!(s.bytes_of(t), bytes.len() as u64);
        }
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(
            s.rows_of(EntraTable::SigninLogs) + s.rows_of(EntraTable::AADNonInteractiveUserSignInLogs),
            c.signin as u64
        );
        assert_eq!(s.rows_of(EntraTable::AuditLogs), c.audit as u64);
        assert_eq!(s.rows_of(EntraTable::AzureActivity), c.activity as u64);
        assert_eq!(s.rows_of(EntraTable::AADUserRiskEvents), 3);
        let interactive = s.rows_of(EntraTable::SigninLogs) as f64 / c.signin as f64;
        assert!((0.25..0.35).contains(&interactive), "{interactive}");
    }

    #[test]
    fn rows_have_every_column_of_the_table_definition_with_its_json_type() {
        for (t, bytes) in render_entra(&cfg(7)) {
            let cols = columns(t.name());
            let names: BTreeSet<&str> = cols.keys().map(String::as_str).collect();
            let text = std::str::from_utf8(&bytes).expect("utf-8");
            let mut last = String::new();
            for line in text.lines() {
                let v: Value = serde_json::from_str(line).expect(line);
                let o = v.as_object().expect("object");
                assert_eq!(o.keys().map(String::as_str).collect::<BTreeSet<_>>(), names, "{t:?}");
                assert_eq!(o["Type"], t.name());
                for (k, ty) in &cols {
                    let x = &o[k];
                    let ok = match ty.as_str() {
                        "string" => x.is_string(),
                        "datetime" => x.as_str().is_some_and(|s| s.len() == 28 && s.ends_with('Z')),
                        "bool" => x.is_boolean(),
                        "long" | "int" => x.is_i64(),
                        "dynamic" => x.is_object() || x.is_array(),
                        other => panic!("type {other}"),
                    };
                    assert!(ok, "{t:?}.{k}: {ty} but {x}");
                }
                let time = o["TimeGenerated"].as_str().expect("time").to_string();
                assert!(time >= last, "{t:?} out of order");
                last = time;
            }
        }
    }

    #[test]
    fn value_mixes() {
        let m = render_entra(&EntraConfig { signin: 20_000, audit: 10_000, activity: 10_000, risk: 2000, ..cfg(7) });
        let rows = |t: EntraTable| -> Vec<Value> {
            std::str::from_utf8(&m[&t]).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        };
        let frac = |rows: &[Value], f: &dyn Fn(&Value) -> bool| {
            rows.iter().filter(|r| f(r)).count() as f64 / rows.len() as f64
        };
        let si = rows(EntraTable::SigninLogs);
        let ok = frac(&si, &|r| r["ResultType"] == "0");
        assert!((0.85..0.95).contains(&ok), "{ok}");
        let tor = frac(&si, &|r| r["IPAddress"].as_str().unwrap().starts_with("185.220.10"));
        assert!((0.002..0.02).contains(&tor), "{tor}");
        assert!(si.iter().any(|r| r["AuthenticationProtocol"] == "deviceCode"));
        assert!(si.iter().any(|r| r["DeviceDetail"]["isCompliant"] == true));
        let ni = rows(EntraTable::AADNonInteractiveUserSignInLogs);
        assert!(ni.iter().all(|r| r["DeviceDetail"].is_string() && r["IsInteractive"] == false));
        let au = rows(EntraTable::AuditLogs);
        assert!(au.iter().any(|r| {
            r["TargetResources"][0]["modifiedProperties"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["displayName"] == "ConsentContext.IsAdminConsent"))
        }));
        assert!(au.iter().all(|r| r["InitiatedBy"].is_object() && r["TargetResources"].is_array()));
        let rare = frac(&au, &|r| r["OperationName"] == "Add member to role");
        assert!((0.0005..0.005).contains(&rare), "{rare}");
        let ac = rows(EntraTable::AzureActivity);
        assert!(ac.iter().any(|r| r["OperationNameValue"] == "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"));
        assert!(ac.iter().any(|r| r["OperationNameValue"] == "Microsoft.Compute/virtualMachines/write"));
        let rk = rows(EntraTable::AADUserRiskEvents);
        assert!(rk.iter().any(|r| r["RiskEventType"] == "anonymizedIPAddress"));
    }
}
