//! Event generation. Nothing is materialised: the dataset is a small plan
//! (a few hundred workloads and one weight checkpoint per chunk of tokens), and
//! every unit of events is regenerated from `hash(seed, domain, index)`.
//!
//! Unit `i` (0..max(signins,1)) covers a slice of the time window and holds:
//! token `i` (its sign-in row(s) and the Graph calls made with it), a share of
//! the Graph calls without a matching sign-in, a share of the calls with an
//! empty SignInActivityId, and a share of the other-table rows. Units are
//! emitted in index order and each unit is sorted by time, so output is
//! chronological-ish (tokens overlap for up to ~80 minutes).

use crate::Config;
use crate::model::*;
use crate::rng::{Rng, hash};
use crate::time::*;

/// Units per weight checkpoint (and per parallel work item in the writers).
pub(crate) const CHUNK: usize = 512;

pub(crate) const D_WORKSPACE: u64 = 1;
pub(crate) const D_TENANT: u64 = 2;
const D_WORKLOAD: u64 = 3;
const D_SPPICK: u64 = 4;
const D_PROFILE: u64 = 5;
const D_UTI: u64 = 6;
const D_TWIN: u64 = 7;
const D_UNIT: u64 = 8;
pub(crate) const D_USER: u64 = 9;
pub(crate) const D_CLASS: u64 = 10;
const D_GRAPHSP: u64 = 11;
const D_FIRSTPARTY: u64 = 12;
const D_FAILED: u64 = 13;
const D_USERTOKEN: u64 = 14;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Plain,
    Nat,
    DualStack,
    Ipv6,
    Managed,
}

/// A service principal or managed identity (a "workload").
#[derive(Clone, Debug)]
pub(crate) struct Workload {
    pub class: Class,
    pub name: String,
    pub sp_id: Guid,
    pub app_id: Guid,
    pub key_id: Maybe<Guid>,
    pub thumbprint: Maybe<String>,
    pub cred_type: &'static str,
    pub federated: Maybe<Guid>,
    pub auth_method: u8,
    /// Plain: [v4]; Nat: 2-3 pool addresses; DualStack: [v6, v4]; Ipv6: [v6];
    /// Managed: [the v4 its Graph calls come from].
    pub ips: Vec<String>,
    pub place: Place,
    pub asn: u32,
    pub user_agent: &'static str,
    pub roles: &'static str,
    pub favorites: [u8; 4],
    pub auth_library: &'static str,
    pub msi_type: &'static str,
    pub msi_resource: String,
    pub region: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenKind {
    Normal,
    Stolen,
    Mapped,
    Twin,
    Boundary,
}

#[derive(Clone, Copy, Debug)]
struct Profile {
    sp: usize,
    kind: TokenKind,
    weight: u64,
    deliveries: u8,
}

/// The class of workload `s`: a function of the seed alone, so the first
/// workloads are the same whatever `signins` is.
pub(crate) fn workload_class(seed: u64, s: usize) -> Class {
    match (s as u64 + hash(seed, D_CLASS, 0) % 20) % 20 {
        0..=3 => Class::Managed,
        4 | 5 => Class::Nat,
        6 => Class::DualStack,
        7 => Class::Ipv6,
        _ => Class::Plain,
    }
}

/// A generated dataset: a plan from which events are streamed on demand.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub(crate) cfg: Config,
    pub(crate) now: i64,
    start: i64,
    span: i64,
    boundary_ts: i64,
    workspace: Guid,
    tenant: Guid,
    graph_sp: Guid,
    workloads: Vec<Workload>,
    plains: Vec<usize>,
    tokens: usize,
    units: usize,
    g_linked: u64,
    g_orphan: u64,
    g_empty: u64,
    w_total: u64,
    checkpoints: Vec<u64>,
    boundary: Option<usize>,
    forced_mapped: Option<usize>,
    forced_twin: Option<usize>,
    forced_failed: Option<usize>,
}

pub(crate) fn guid(rng: &mut Rng) -> Guid {
    // Version-4 / RFC 4122 variant bits, like real object ids.
    let r = rng.u128();
    let r = (r & !(0xF_u128 << 76)) | (0x4_u128 << 76);
    let r = (r & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    Guid(r)
}

pub(crate) fn guid_from(h: u64) -> Guid {
    guid(&mut Rng::new(h))
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// 16 random bytes as 22 characters of unpadded base64url (the `uti` claim).
pub(crate) fn uti_from(rng: &mut Rng) -> String {
    let v = rng.u128();
    let mut s = String::with_capacity(22);
    for k in 0..22 {
        // 128 bits = 21 full sextets + 2 bits; the last char carries 2 bits.
        let idx = if k < 21 { (v >> (122 - 6 * k)) & 0x3F } else { (v & 0x3) << 4 };
        s.push(B64URL[idx as usize] as char);
    }
    s
}

fn flip_first_letter(s: &str) -> String {
    let mut out: Vec<u8> = s.as_bytes().to_vec();
    if let Some(c) = out.iter_mut().find(|c| c.is_ascii_alphabetic()) {
        *c ^= 0x20;
    } else {
        // No letter at all (vanishingly rare): still distinct, not a case twin.
        out[0] = b'x';
    }
    String::from_utf8(out).expect("ascii")
}

pub(crate) fn v4(a: u8, b: u8, c: u8, d: u8) -> String {
    format!("{a}.{b}.{c}.{d}")
}

pub(crate) fn octet(rng: &mut Rng, lo: u64, hi: u64) -> u8 {
    (lo + rng.below(hi - lo)) as u8
}

pub(crate) fn public_v4(rng: &mut Rng, firsts: &[u8]) -> String {
    let a = rng.choose(firsts);
    v4(a, octet(rng, 0, 256), octet(rng, 0, 256), octet(rng, 1, 255))
}

/// First octets for ordinary workload egress (never 45, 51 or 185).
const PLAIN_FIRST: &[u8] = &[20, 40, 52, 4, 13, 104, 62, 80, 193, 94, 217];
pub(crate) const AZURE_FIRST: &[u8] = &[20, 40, 52, 4, 13];
pub(crate) const USER_FIRST: &[u8] = &[84, 91, 93, 77, 178, 88, 109, 212];

pub(crate) const PLACES: &[Place] = &[
    Place { city: "Amsterdam", state: "Noord-Holland", country: "NL", latitude: "52.35", longitude: "4.9167" },
    Place { city: "Dublin", state: "Dublin", country: "IE", latitude: "53.3331", longitude: "-6.2489" },
    Place { city: "Frankfurt am Main", state: "Hessen", country: "DE", latitude: "50.1109", longitude: "8.6821" },
    Place { city: "Zürich", state: "Zürich", country: "CH", latitude: "47.3769", longitude: "8.5417" },
    Place { city: "Boydton", state: "Virginia", country: "US", latitude: "36.6676", longitude: "-78.3875" },
    Place { city: "San Antonio", state: "Texas", country: "US", latitude: "29.4241", longitude: "-98.4936" },
    Place { city: "London", state: "London", country: "GB", latitude: "51.5074", longitude: "-0.1278" },
];

const REGIONS: &[&str] = &[
    "West Europe",
    "North Europe",
    "Germany West Central",
    "Switzerland North",
    "East US",
    "South Central US",
    "UK South",
];

pub(crate) const SP_WORDS: &[&str] = &[
    "hr-sync",
    "payroll-export",
    "graph-reader",
    "mail-relay",
    "sentinel-ingest",
    "github-actions-deploy",
    "terraform",
    "scim-provisioning",
    "jira-connector",
    "powerbi-refresh",
    "backup-m365",
    "intune-reporting",
    "teams-bot",
    "sharepoint-archiver",
    "license-manager",
    "entra-governance",
];
pub(crate) const ENVS: &[&str] = &["prod", "dev", "test", "weu", "neu", "eus"];
const MI_PREFIX: &[&str] = &["func-", "aks-agentpool-", "vm-", "logic-", "adf-", "app-"];
const ODD_NAMES: &[&str] = &["Übersetzungsdienst-Prod", "Contoso \"Legacy\" Sync", "résumé-parser", "backup\\svc"];

const WORKLOAD_UAS: &[&str] = &[
    "PowerShell/7.4.6 Microsoft.Graph.Authentication/2.25.0",
    "python-requests/2.31.0",
    "msgraph-sdk-python/1.12.0",
    "Go-http-client/2.0",
    "dotnet-sdk/5.61.0 (hostOS=Windows; runtimeEnvironment=.NET 8.0.11)",
    "azure-logic-apps/1.0",
    "Terraform/1.9.8 terraform-provider-azuread/3.0.2",
    "axios/1.7.7",
    "msgraph-sdk-java/6.20.0",
    "",
];
const ATTACKER_UAS: &[&str] = &[
    "python-requests/2.32.3",
    "curl/8.7.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "AADInternals",
];
const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Teams/6.10.1",
];

const ROLES: &[&str] = &[
    "User.Read.All",
    "Mail.Send",
    "Sites.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "Application.ReadWrite.All Directory.Read.All",
    "AuditLog.Read.All Directory.Read.All",
    "User.ReadWrite.All Group.ReadWrite.All",
];
const SP_WIDS: &str = "0997a1d0-0d1d-4acb-b408-d5ca73121e90";
const USER_WIDS: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";
const USER_SCOPES: &str = "email openid profile User.Read Mail.Read Files.ReadWrite.All Sites.Read.All";
const AUTH_LIBS: &[&str] = &[
    "Family: MSAL Library: MSAL.NET 4.61.3 Platform: .NET",
    "Family: MSAL Library: MSAL.Python 1.28.0 Platform: Python",
    "Family: Unknown Library: Unknown Platform: Unknown",
    "Family: MSAL Library: MSAL.Java 1.15.0 Platform: Java",
];

/// (Microsoft first-party application, app id) used for calls without a sign-in row.
const FIRST_PARTY: &[(&str, u128)] = &[
    ("Microsoft Teams", 0x1fec8e78_bce4_4aaf_ab1b_5451cc387264),
    ("Azure Portal", 0xc44b4083_3bb0_49c1_b47d_974e53cbdf3c),
    ("Microsoft Office", 0xd3590ed6_52b3_4102_aeff_aad2292ab01c),
    ("Office 365 SharePoint Online", 0x00000003_0000_0ff1_ce00_000000000000),
];
const GRAPH_APP_ID: Guid = Guid(0x00000003_0000_0000_c000_000000000000);

pub(crate) const FIRST_NAMES: &[&str] = &[
    "anna", "ben", "chloe", "david", "elif", "felix", "grace", "hugo", "ines", "jonas", "jürgen", "karin", "liam",
    "mia", "noah", "olga", "paul",
];
pub(crate) const LAST_NAMES: &[&str] = &[
    "schmidt", "meyer", "rossi", "dubois", "novak", "müller", "smith", "jansen", "nielsen", "kowalski", "garcia",
    "bauer",
];

/// Graph request templates: (method, path). `{u}` user id, `{g}`/`{a}` other
/// object ids, `{m}` a message id.
const TEMPLATES: &[(&str, &str)] = &[
    ("GET", "users/{u}"),
    ("GET", "users/{u}/memberOf?$select=id,displayName"),
    ("GET", "users?$select=id,displayName,userPrincipalName,accountEnabled&$top=999"),
    ("GET", "groups/{g}/members?$top=100"),
    ("GET", "applications/{a}"),
    ("POST", "users/{u}/sendMail"),
    ("PATCH", "users/{u}"),
    ("GET", "sites/contoso.sharepoint.com,{g},{a}/drives"),
    ("GET", "users/{u}/messages?$top=50&$filter=receivedDateTime%20ge%202026-06-01T00:00:00Z"),
    ("POST", "$batch"),
    ("DELETE", "groups/{g}/members/{u}/$ref"),
    ("GET", "servicePrincipals?$filter=appId%20eq%20'{a}'"),
    ("GET", "auditLogs/signIns?$top=100"),
    ("GET", "applications/{a}/owners"),
    ("POST", "applications/{a}/addPassword"),
    ("GET", "users?$search=\"displayName:adm\"&$count=true"),
    ("GET", "users/jürgen.müller@contoso.onmicrosoft.com/manager"),
    ("GET", "deviceManagement/managedDevices?$top=500"),
    ("GET", "security/alerts_v2?$top=50"),
    ("POST", "subscriptions"),
    ("GET", "users/{u}/mailFolders/inbox/messages/{m}/attachments"),
    ("GET", "me"),
    ("GET", "me/drive/root/children"),
];
const WORKLOAD_TEMPLATES: &[u8] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 17, 18, 19, 20];
/// Rare templates with a JSON-escaped quote / non-ASCII text in the URI.
const ODD_TEMPLATES: &[u8] = &[15, 16];
const ATTACKER_TEMPLATES: &[u8] = &[2, 4, 11, 13, 14, 8, 20, 12];
const USER_TEMPLATES: &[u8] = &[21, 22, 0, 8, 3, 7];

fn status_code(rng: &mut Rng) -> i32 {
    match rng.below(1000) {
        0..780 => 200,
        780..820 => 204,
        820..850 => 201,
        850..880 => 404,
        880..900 => 403,
        900..915 => 401,
        915..930 => 400,
        930..945 => 429,
        945..955 => 500,
        955..965 => 99,
        965..975 => 100,
        975..985 => 300,
        985..995 => 301,
        _ => 200,
    }
}

/// How a Graph call is made (app-only workload, attacker, user, first party).
struct Caller<'a> {
    app_id: Guid,
    sp_id: Maybe<Guid>,
    user_id: Maybe<Guid>,
    user_agent: &'static str,
    roles: &'static str,
    scopes: &'static str,
    wids: &'static str,
    auth_method: u8,
    id_type: &'static str,
    templates: &'a [u8],
    region: &'static str,
}

impl Dataset {
    pub(crate) fn new(cfg: &Config) -> Dataset {
        let seed = cfg.seed;
        let now = cfg.now * TICKS_PER_SEC;
        let start = now - 45 * TICKS_PER_DAY;
        let end = now - 2 * TICKS_PER_HOUR;
        let span = end - start;
        let boundary_ts = now - 30 * TICKS_PER_DAY;
        let tokens = cfg.signins;
        let units = tokens.max(1);

        let nsp = (tokens / 15).clamp(20, 20_000);
        let tenant = guid_from(hash(seed, D_TENANT, 0));
        let mut workloads = Vec::with_capacity(nsp);
        for s in 0..nsp {
            workloads.push(Workload::new(seed, s, workload_class(seed, s)));
        }
        let plains: Vec<usize> = (0..nsp).filter(|&s| workloads[s].class == Class::Plain).collect();

        let g = cfg.graph as u64;
        let (mut g_linked, mut g_orphan, g_empty) = if tokens == 0 {
            let e = g * 2 / 100;
            (0, g - e, e)
        } else {
            // 3% first-party calls without a sign-in row, plus 3% delegated
            // (user-token) calls when user sign-ins are generated.
            let e = g * 2 / 100;
            let o = g * if cfg.other_tables > 0 { 6 } else { 3 } / 100;
            (g - e - o, o, e)
        };
        let big = tokens >= 20;
        let boundary = if big && g_linked >= 12 {
            let b = ((boundary_ts - start) as i128 * units as i128 / span as i128) as usize;
            Some(b.min(tokens - 1))
        } else {
            None
        };
        if boundary.is_some() {
            g_linked -= 6;
        }

        let mut ds = Dataset {
            cfg: cfg.clone(),
            now,
            start,
            span,
            boundary_ts,
            workspace: guid_from(hash(seed, D_WORKSPACE, 0)),
            tenant,
            graph_sp: guid_from(hash(seed, D_GRAPHSP, 0)),
            workloads,
            plains,
            tokens,
            units,
            g_linked,
            g_orphan,
            g_empty,
            w_total: 0,
            checkpoints: Vec::new(),
            boundary,
            forced_mapped: big.then_some(tokens * 3 / 5),
            forced_twin: big.then_some(tokens * 7 / 10),
            forced_failed: big.then_some(tokens * 4 / 5),
        };
        // Pre-pass: token weights (cheap hashes only) -> checkpoints.
        let mut cum = 0u64;
        let mut checkpoints = Vec::with_capacity(units / CHUNK + 2);
        for i in 0..units {
            if i % CHUNK == 0 {
                checkpoints.push(cum);
            }
            if i < tokens {
                cum += ds.profile(i).weight;
            }
        }
        checkpoints.push(cum);
        if cum == 0 {
            // No token may carry calls: they all become calls without a sign-in.
            g_orphan += g_linked;
            g_linked = 0;
            ds.g_orphan = g_orphan;
            ds.g_linked = g_linked;
            if let Some(b) = ds.boundary.take() {
                let _ = b;
                ds.g_orphan += 6;
            }
        }
        ds.w_total = cum;
        ds.checkpoints = checkpoints;
        ds
    }

    /// Number of generation units (= max(signins, 1)).
    pub fn units(&self) -> usize {
        self.units
    }

    /// The configuration the dataset was generated from.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// `now` as a timestamp.
    pub fn now(&self) -> Ts {
        Ts(self.now)
    }

    /// Streams every event, unit by unit (chronological-ish, tables interleaved).
    pub fn events(&self) -> Events<'_> {
        Events::new(self, 0, self.units, 0)
    }

    /// Streams the events of chunk `c` (units `c*CHUNK .. (c+1)*CHUNK`).
    pub(crate) fn chunk_events(&self, c: usize) -> Events<'_> {
        let end = ((c + 1) * CHUNK).min(self.units);
        Events::new(self, c * CHUNK, end, self.checkpoints[c])
    }

    pub(crate) fn chunks(&self) -> usize {
        self.units.div_ceil(CHUNK)
    }

    fn share(&self, i: usize, total: u64) -> u64 {
        let u = self.units as u128;
        let t = total as u128;
        ((t * (i as u128 + 1)) / u - (t * i as u128) / u) as u64
    }

    fn base_sp(&self, i: usize) -> usize {
        let n = self.workloads.len();
        if i < n { i } else { (hash(self.cfg.seed, D_SPPICK, i as u64) % n as u64) as usize }
    }

    fn raw_twin(&self, i: usize) -> bool {
        if i == 0 || i >= self.tokens || Some(i) == self.boundary || Some(i) == self.forced_mapped {
            return false;
        }
        if Some(i) == self.forced_twin {
            return true;
        }
        Some(i + 1) != self.forced_twin && hash(self.cfg.seed, D_TWIN, i as u64).is_multiple_of(200)
    }

    fn is_twin(&self, i: usize) -> bool {
        self.raw_twin(i) && (Some(i) == self.forced_twin || !self.raw_twin(i - 1))
    }

    /// Workload of a token that is not a case twin.
    fn sp_nontwin(&self, i: usize) -> usize {
        if Some(i) == self.boundary {
            self.plains[0]
        } else if Some(i) == self.forced_mapped {
            self.plains[1 % self.plains.len()]
        } else {
            self.base_sp(i)
        }
    }

    fn profile(&self, i: usize) -> Profile {
        let mut rng = Rng::new(hash(self.cfg.seed, D_PROFILE, i as u64));
        const WEIGHTS: [u64; 12] = [0, 1, 1, 2, 2, 3, 4, 6, 8, 12, 16, 24];
        let mut weight = WEIGHTS[rng.below(12) as usize];
        let deliveries = if rng.chance(3, 100) { 2 + rng.below(3) as u8 } else { 1 };
        let roll = rng.below(1000);
        let (sp, kind) = if Some(i) == self.boundary {
            (self.plains[0], TokenKind::Boundary)
        } else if self.is_twin(i) {
            let prev = self.sp_nontwin(i - 1);
            let n = self.plains.len();
            let mut k = (hash(self.cfg.seed, D_TWIN, i as u64) >> 8) as usize % n;
            if self.plains[k] == prev {
                k = (k + 1) % n;
            }
            (self.plains[k], TokenKind::Twin)
        } else if Some(i) == self.forced_mapped {
            (self.plains[1 % self.plains.len()], TokenKind::Mapped)
        } else {
            let sp = self.base_sp(i);
            let class = self.workloads[sp].class;
            if roll < 30 {
                (sp, TokenKind::Stolen)
            } else if roll < 45 && class == Class::Plain {
                (sp, TokenKind::Mapped)
            } else {
                (sp, TokenKind::Normal)
            }
        };
        if kind != TokenKind::Normal || self.is_twin(i + 1) {
            weight = weight.max(2);
        }
        Profile { sp, kind, weight, deliveries }
    }

    fn raw_uti(&self, i: usize) -> String {
        uti_from(&mut Rng::new(hash(self.cfg.seed, D_UTI, i as u64)))
    }

    fn user_guid(&self, n: u64) -> Guid {
        guid_from(hash(self.cfg.seed, D_USER, n))
    }

    fn window(&self, i: usize) -> (i64, i64) {
        let u = self.units as i128;
        let w0 = self.start + (self.span as i128 * i as i128 / u) as i64;
        let w1 = self.start + (self.span as i128 * (i as i128 + 1) / u) as i64;
        (w0, w1.max(w0 + 1))
    }

    /// Generates unit `i` into `out` (cleared first), sorted by time.
    /// `cum` is the sum of the weights of tokens before `i`; it is advanced.
    pub(crate) fn gen_unit(&self, i: usize, cum: &mut u64, out: &mut Vec<Event>) {
        out.clear();
        let seed = self.cfg.seed;
        let (w0, w1) = self.window(i);
        let mut rng = Rng::new(hash(seed, D_UNIT, i as u64));

        // Other tables: row `r` (global index) is a user sign-in when
        // r % 5 < 3, else an audit event. User sign-ins come from their own
        // stream so delegated Graph calls in later units can reuse the token.
        let first_row = (self.cfg.other_tables as u128 * i as u128 / self.units as u128) as u64;
        for r in first_row..first_row + self.share(i, self.cfg.other_tables as u64) {
            let t = rng.range(w0, w1);
            if r % 5 < 3 {
                out.push(Event::UserSignIn(self.user_row_signin(r)));
            } else {
                out.push(Event::Audit(self.audit(&mut rng, t)));
            }
        }
        let user_token = self
            .latest_user_row(i)
            .map(|r| self.user_row_signin(r))
            .filter(|u| !u.unique_token_identifier.is_empty())
            .map(|u| (u.unique_token_identifier, u.ip_address, u.user_id, u.time));

        if i < self.tokens {
            let p = self.profile(i);
            let mut k = 0;
            if self.w_total > 0 {
                let gl = self.g_linked as u128;
                let w = self.w_total as u128;
                let before = gl * *cum as u128 / w;
                *cum += p.weight;
                k = (gl * *cum as u128 / w - before) as u64;
            }
            self.token_events(i, &p, k, &mut rng, w0, w1, out);
            if Some(i) == self.forced_failed || hash(seed, D_FAILED, i as u64).is_multiple_of(100) {
                out.push(Event::SignIn(self.failed_signin(&mut rng, w0, w1)));
            }
        }

        for _ in 0..self.share(i, self.g_orphan) {
            let t = rng.range(w0, w1) + rng.range(0, 75 * TICKS_PER_MIN);
            match &user_token {
                Some((uti, ip, user, issued_at)) if rng.chance(2, 3) => {
                    // Delegated call with a user token; half roam to a mobile IP.
                    let t = t.max(issued_at.0 + rng.range(TICKS_PER_SEC, 10 * TICKS_PER_MIN));
                    let ip = if rng.chance(1, 2) { public_v4(&mut rng, USER_FIRST) } else { ip.clone() };
                    let caller = Caller {
                        app_id: Guid(FIRST_PARTY[0].1),
                        sp_id: Maybe::Empty,
                        user_id: Maybe::Val(*user),
                        user_agent: rng.choose(BROWSER_UAS),
                        roles: "",
                        scopes: USER_SCOPES,
                        wids: USER_WIDS,
                        auth_method: 0,
                        id_type: "user",
                        templates: USER_TEMPLATES,
                        region: REGIONS[0],
                    };
                    let issued = Ts(issued_at.0 - issued_at.0.rem_euclid(TICKS_PER_SEC));
                    let uti = Maybe::Val(uti.clone());
                    let call = self.graph_call(&mut rng, Ts(t), issued, &caller, uti, ip, false, Scenario::Delegated);
                    out.push(Event::Graph(call));
                }
                _ => {
                    // Microsoft first-party app: no sign-in row anywhere.
                    let fp = rng.below(FIRST_PARTY.len() as u64);
                    let caller = Caller {
                        app_id: Guid(FIRST_PARTY[fp as usize].1),
                        sp_id: Maybe::Val(guid_from(hash(seed, D_FIRSTPARTY, fp))),
                        user_id: Maybe::Empty,
                        user_agent: "",
                        roles: ROLES[0],
                        scopes: "",
                        wids: SP_WIDS,
                        auth_method: 2,
                        id_type: "app",
                        templates: WORKLOAD_TEMPLATES,
                        region: rng.choose(REGIONS),
                    };
                    let ip = v4(
                        rng.choose(&[20u8, 40]),
                        rng.choose(&[190u8, 126]),
                        octet(&mut rng, 128, 160),
                        octet(&mut rng, 1, 255),
                    );
                    let uti = Maybe::Val(uti_from(&mut rng));
                    let issued = Ts(t - rng.range(0, 50 * TICKS_PER_MIN));
                    let call = self.graph_call(&mut rng, Ts(t), issued, &caller, uti, ip, false, Scenario::NoSignIn);
                    out.push(Event::Graph(call));
                }
            }
        }

        for _ in 0..self.share(i, self.g_empty) {
            let t = rng.range(w0, w1) + rng.range(0, 75 * TICKS_PER_MIN);
            let wl = &self.workloads[rng.below(self.workloads.len() as u64) as usize];
            let ip = match wl.class {
                Class::DualStack => wl.ips[1].clone(),
                Class::Nat => rng.pick(&wl.ips).clone(),
                _ => wl.ips[0].clone(),
            };
            let uti = if rng.chance(1, 3) { Maybe::Null } else { Maybe::Empty };
            let issued = Ts(t - rng.range(0, 50 * TICKS_PER_MIN));
            let caller = wl.caller();
            let call = self.graph_call(&mut rng, Ts(t), issued, &caller, uti, ip, false, Scenario::EmptyActivityId);
            out.push(Event::Graph(call));
        }

        out.sort_by_key(Event::time);
    }

    #[allow(clippy::too_many_arguments)]
    fn token_events(&self, i: usize, p: &Profile, k: u64, rng: &mut Rng, w0: i64, w1: i64, out: &mut Vec<Event>) {
        let wl = &self.workloads[p.sp];
        let issue = if p.kind == TokenKind::Boundary {
            self.boundary_ts - 5 * TICKS_PER_MIN - rng.range(0, TICKS_PER_SEC)
        } else {
            rng.range(w0, w1)
        };
        let uti = if p.kind == TokenKind::Twin { flip_first_letter(&self.raw_uti(i - 1)) } else { self.raw_uti(i) };
        let scenario = match (p.kind, wl.class) {
            (TokenKind::Stolen, _) => Scenario::Stolen,
            (TokenKind::Boundary, _) => Scenario::Boundary,
            (TokenKind::Mapped, _) => Scenario::Ipv4Mapped,
            (TokenKind::Twin, _) => Scenario::CaseTwin,
            (TokenKind::Normal, Class::Nat) => Scenario::NatPool,
            (TokenKind::Normal, Class::Managed) => Scenario::ManagedIdentity,
            (TokenKind::Normal, Class::DualStack) => Scenario::DualStack,
            (TokenKind::Normal, Class::Ipv6) => Scenario::Ipv6,
            (TokenKind::Normal, Class::Plain) => Scenario::Normal,
        };
        let n_ips = wl.ips.len() as u64;
        let nat_idx = rng.below(n_ips) as usize;
        let signin_ip = match wl.class {
            Class::Managed => {
                if rng.chance(1, 4) {
                    Maybe::Null
                } else {
                    Maybe::Empty
                }
            }
            Class::Nat => Maybe::Val(wl.ips[nat_idx].clone()),
            _ => Maybe::Val(wl.ips[0].clone()),
        };
        let id = guid(rng);
        let correlation_id = guid(rng);
        let session_id = if rng.chance(1, 2) { Maybe::Val(guid(rng)) } else { Maybe::Empty };
        let delay = rng.range(30 * TICKS_PER_SEC, 20 * TICKS_PER_MIN);
        let nulls = rng.chance(1, 5);
        let level_numeric = rng.chance(1, 8);
        let mut envelope = issue + delay;
        for d in 1..=p.deliveries {
            out.push(Event::SignIn(SignIn {
                managed: wl.class == Class::Managed,
                time: Ts(issue),
                envelope_time: Ts(envelope),
                delivery: d,
                workspace_id: self.workspace,
                tenant_id: self.tenant,
                id,
                correlation_id,
                app_id: wl.app_id,
                service_principal_id: wl.sp_id,
                service_principal_name: wl.name.clone(),
                credential_key_id: wl.key_id.clone(),
                credential_thumbprint: wl.thumbprint.clone(),
                client_credential_type: wl.cred_type,
                federated_credential_id: wl.federated.clone(),
                ip_address: signin_ip.clone(),
                unique_token_identifier: Maybe::Val(uti.clone()),
                result_type: "0",
                result_description: "",
                place: (wl.class != Class::Managed).then_some(wl.place),
                asn: wl.asn,
                resource_service_principal_id: self.graph_sp,
                session_id: session_id.clone(),
                auth_library: wl.auth_library,
                msi_type: wl.msi_type,
                msi_resource_id: wl.msi_resource.clone(),
                diag_level_numeric: level_numeric,
                nulls,
                scenario,
            }));
            envelope += rng.range(TICKS_PER_MIN, 3 * TICKS_PER_HOUR);
        }

        let mut offsets: Vec<i64> = (0..k).map(|_| rng.range(TICKS_PER_SEC / 2, 75 * TICKS_PER_MIN)).collect();
        offsets.sort_unstable();
        let theft = issue + rng.range(0, 20 * TICKS_PER_MIN);
        let stolen = matches!(p.kind, TokenKind::Stolen | TokenKind::Boundary);
        let attacker_ip = if stolen { attacker_ip(rng) } else { String::new() };
        let caller = wl.caller();
        let attacker_caller =
            Caller { user_agent: rng.choose(ATTACKER_UAS), templates: ATTACKER_TEMPLATES, ..wl.caller() };
        let issued = Ts(issue - issue.rem_euclid(TICKS_PER_SEC));
        for (j, off) in offsets.iter().enumerate() {
            let t = issue + off;
            let by_attacker = stolen && t >= theft && rng.chance(3, 4);
            let ip = if by_attacker {
                attacker_ip.clone()
            } else if p.kind == TokenKind::Mapped && rng.chance(2, 3) {
                format!("::ffff:{}", wl.ips[0])
            } else {
                match wl.class {
                    Class::Nat if j == 0 => wl.ips[(nat_idx + 1) % n_ips as usize].clone(),
                    Class::Nat => wl.ips[rng.below(n_ips) as usize].clone(),
                    Class::DualStack => wl.ips[1].clone(),
                    _ => wl.ips[0].clone(),
                }
            };
            let c = if by_attacker { &attacker_caller } else { &caller };
            let call = self.graph_call(rng, Ts(t), issued, c, Maybe::Val(uti.clone()), ip, by_attacker, scenario);
            out.push(Event::Graph(call));
        }
        if p.kind == TokenKind::Boundary {
            // Exactly on and just past `now - 30d`, and the status-code edges.
            let b = self.boundary_ts;
            let fixed: [(i64, i32); 6] = [
                (b, 200),
                (b + 1, 200),
                (b + TICKS_PER_MIN, 99),
                (b + 2 * TICKS_PER_MIN, 100),
                (b + 3 * TICKS_PER_MIN, 300),
                (b + 4 * TICKS_PER_MIN, 301),
            ];
            for (t, status) in fixed {
                let mut call = self.graph_call(
                    rng,
                    Ts(t),
                    issued,
                    &attacker_caller,
                    Maybe::Val(uti.clone()),
                    attacker_ip.clone(),
                    true,
                    scenario,
                );
                call.response_status_code = status;
                out.push(Event::Graph(call));
            }
        }
    }

    /// A failed client-credentials sign-in (wrong secret): no token is
    /// issued, so UniqueTokenIdentifier is empty. Half come from an attacker
    /// address. Extra row: not counted in `Config::signins`.
    fn failed_signin(&self, rng: &mut Rng, w0: i64, w1: i64) -> SignIn {
        let wl = &self.workloads[self.plains[rng.below(self.plains.len() as u64) as usize]];
        let t = rng.range(w0, w1);
        let ip = if rng.chance(1, 2) { attacker_ip(rng) } else { wl.ips[0].clone() };
        SignIn {
            managed: false,
            time: Ts(t),
            envelope_time: Ts(t + rng.range(30 * TICKS_PER_SEC, 20 * TICKS_PER_MIN)),
            delivery: 1,
            workspace_id: self.workspace,
            tenant_id: self.tenant,
            id: guid(rng),
            correlation_id: guid(rng),
            app_id: wl.app_id,
            service_principal_id: wl.sp_id,
            service_principal_name: wl.name.clone(),
            credential_key_id: Maybe::Empty,
            credential_thumbprint: Maybe::Empty,
            client_credential_type: "clientSecret",
            federated_credential_id: Maybe::Empty,
            ip_address: Maybe::Val(ip),
            unique_token_identifier: if rng.chance(1, 3) { Maybe::Null } else { Maybe::Empty },
            result_type: "7000215",
            result_description: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            place: Some(wl.place),
            asn: wl.asn,
            resource_service_principal_id: self.graph_sp,
            session_id: Maybe::Empty,
            auth_library: wl.auth_library,
            msi_type: "",
            msi_resource_id: String::new(),
            diag_level_numeric: rng.chance(1, 8),
            nulls: rng.chance(1, 5),
            scenario: Scenario::FailedSignIn,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn graph_call(
        &self,
        rng: &mut Rng,
        time: Ts,
        issued: Ts,
        c: &Caller<'_>,
        uti: Maybe<String>,
        ip: String,
        attacker: bool,
        scenario: Scenario,
    ) -> GraphCall {
        let tmpl = if rng.chance(1, 100) {
            rng.choose(ODD_TEMPLATES) as usize
        } else if attacker || rng.chance(17, 20) {
            rng.choose(c.templates) as usize
        } else {
            rng.choose(WORKLOAD_TEMPLATES) as usize
        };
        let (method, path) = TEMPLATES[tmpl];
        let version = if rng.chance(1, 5) { "beta" } else { "v1.0" };
        let mut uri = String::with_capacity(160);
        uri.push_str("https://graph.microsoft.com/");
        uri.push_str(version);
        uri.push('/');
        let mut rest = path;
        while let Some(pos) = rest.find('{') {
            uri.push_str(&rest[..pos]);
            let var = rest.as_bytes()[pos + 1];
            match var {
                b'u' => uri.push_str(&self.user_guid(rng.below(5000)).to_string()),
                b'm' => {
                    uri.push_str("AAMkAGI2");
                    let mut r2 = Rng::new(rng.next_u64());
                    uri.push_str(&uti_from(&mut r2));
                    uri.push_str(&uti_from(&mut r2));
                    uri.push_str("AAA=");
                }
                _ => uri.push_str(&guid(rng).to_string()),
            }
            rest = &rest[pos + 3..];
        }
        uri.push_str(rest);
        let request_id = guid(rng);
        let operation_id = if method == "POST" && tmpl == 9 || rng.chance(1, 10) { guid(rng) } else { request_id };
        let client_request_id = if rng.chance(1, 2) { operation_id } else { guid(rng) };
        let status = status_code(rng);
        let size = match (method, status) {
            (_, 204) | ("DELETE", _) => 0,
            ("GET", 200) => rng.range(300, 250_000) as u32,
            _ => rng.range(100, 2_000) as u32,
        };
        let duration = if rng.chance(1, 20) { rng.range(2_000, 120_000) } else { rng.range(12, 1_500) } as u32;
        GraphCall {
            time,
            token_issued_at: issued,
            workspace_id: self.workspace,
            tenant_id: self.tenant,
            location: c.region,
            request_id,
            operation_id,
            client_request_id,
            api_version: version,
            request_method: method,
            response_status_code: status,
            duration_ms: duration,
            response_size_bytes: size,
            sign_in_activity_id: uti,
            ip_address: ip,
            user_agent: c.user_agent,
            request_uri: uri,
            app_id: c.app_id,
            user_id: c.user_id.clone(),
            service_principal_id: c.sp_id.clone(),
            scopes: c.scopes,
            roles: c.roles,
            wids: c.wids,
            client_auth_method: c.auth_method,
            device_id: Maybe::Empty,
            session_id: Maybe::Empty,
            id_type: c.id_type,
            diag_auth_method_as_string: rng.chance(1, 10),
            diag_level_numeric: rng.chance(1, 8),
            nulls: rng.chance(1, 5),
            scenario,
        }
    }

    /// Global index of the latest user sign-in row in units `0..=i`.
    fn latest_user_row(&self, i: usize) -> Option<u64> {
        let o = self.cfg.other_tables as u128;
        let c = (o * (i as u128 + 1) / self.units as u128) as u64; // rows in 0..=i
        let last = c.checked_sub(1)?;
        match last % 5 {
            m @ 3..=4 => last.checked_sub(m - 2),
            _ => Some(last),
        }
    }

    /// Other-table row `r` as a user sign-in, from its own stream.
    fn user_row_signin(&self, r: u64) -> UserSignIn {
        let o = self.cfg.other_tables as u128;
        let unit = ((r as u128 + 1) * self.units as u128).div_ceil(o) - 1;
        let (w0, w1) = self.window(unit as usize);
        let mut rng = Rng::new(hash(self.cfg.seed, D_USERTOKEN, r));
        let t = rng.range(w0, w1);
        self.user_signin(&mut rng, t)
    }

    fn user_signin(&self, rng: &mut Rng, t: i64) -> UserSignIn {
        let n = rng.below(5000);
        let first = FIRST_NAMES[(n % FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[(n / 7 % LAST_NAMES.len() as u64) as usize];
        let (app, app_id) = rng.choose(FIRST_PARTY);
        let result_type = rng.choose(&["0", "0", "0", "0", "0", "0", "50126", "50074"]);
        let uti = uti_from(rng);
        UserSignIn {
            time: Ts(t),
            workspace_id: self.workspace,
            tenant_id: self.tenant,
            id: guid(rng),
            correlation_id: guid(rng),
            user_id: self.user_guid(n),
            user_principal_name: format!("{first}.{last}{n}@contoso.onmicrosoft.com"),
            user_display_name: format!("{first} {last}"),
            app_id: Guid(app_id),
            app_display_name: app,
            ip_address: public_v4(rng, USER_FIRST),
            // A failed sign-in issues no token.
            unique_token_identifier: if result_type == "0" { uti } else { String::new() },
            place: rng.choose(PLACES),
            user_agent: rng.choose(BROWSER_UAS),
            result_type,
            interactive: rng.chance(1, 3),
        }
    }

    fn audit(&self, rng: &mut Rng, t: i64) -> Audit {
        const ACTIVITIES: &[(&str, &str, &str, &str)] = &[
            (
                "Update application – Certificates and secrets management ",
                "ApplicationManagement",
                "Update",
                "Application",
            ),
            ("Add service principal credentials", "ApplicationManagement", "Update", "ServicePrincipal"),
            ("Add member to group", "GroupManagement", "Assign", "Group"),
            ("Update user", "UserManagement", "Update", "User"),
            ("Consent to application", "ApplicationManagement", "Assign", "ServicePrincipal"),
        ];
        let (activity, category, op, target_type) = rng.choose(ACTIVITIES);
        let wl = &self.workloads[rng.below(self.workloads.len() as u64) as usize];
        let id_guid = guid(rng);
        Audit {
            time: Ts(t),
            workspace_id: self.workspace,
            tenant_id: self.tenant,
            id: format!("Directory_{}", id_guid.to_string().to_uppercase()),
            correlation_id: guid(rng),
            activity,
            category,
            operation_type: op,
            logged_by_service: "Core Directory",
            actor_name: wl.name.clone(),
            actor_service_principal_id: wl.sp_id,
            actor_app_id: wl.app_id,
            target_id: guid(rng),
            target_name: format!("{}-{}", rng.pick(SP_WORDS), rng.pick(ENVS)),
            target_type,
            ip_address: if rng.chance(1, 2) { Maybe::Null } else { Maybe::Empty },
            result: if rng.chance(19, 20) { "success" } else { "failure" },
        }
    }
}

pub(crate) fn attacker_ip(rng: &mut Rng) -> String {
    if rng.chance(1, 5) {
        format!("2a0b:f4c0:{:x}::{:x}", rng.range(1, 0xffff), rng.range(1, 0xffff))
    } else if rng.chance(1, 2) {
        v4(185, 220, octet(rng, 100, 102), octet(rng, 1, 255))
    } else {
        v4(45, 155, octet(rng, 204, 206), octet(rng, 1, 255))
    }
}

impl Workload {
    pub(crate) fn new(seed: u64, s: usize, class: Class) -> Workload {
        let mut rng = Rng::new(hash(seed, D_WORKLOAD, s as u64));
        let sp_id = guid(&mut rng);
        let app_id = guid(&mut rng);
        let env = rng.choose(ENVS);
        let name = if class == Class::Managed {
            format!("{}{}-{env}", rng.pick(MI_PREFIX), rng.pick(SP_WORDS))
        } else if rng.chance(1, 25) {
            rng.pick(ODD_NAMES).to_string()
        } else {
            format!("{}-{env}", rng.pick(SP_WORDS))
        };
        let azure = |rng: &mut Rng| public_v4(rng, AZURE_FIRST);
        let ips = match class {
            Class::Plain => vec![public_v4(&mut rng, PLAIN_FIRST)],
            Class::Managed => vec![azure(&mut rng)],
            Class::Nat => {
                let (b, c, d) = (octet(&mut rng, 0, 256), octet(&mut rng, 0, 256), octet(&mut rng, 1, 250));
                let n = 2 + rng.below(2) as u8;
                (0..n).map(|k| v4(51, b, c, d + k)).collect()
            }
            Class::DualStack => vec![
                format!("2603:1020:{:x}:{:x}::{:x}", rng.range(1, 0xffff), rng.range(1, 0xffff), rng.range(1, 0xffff)),
                azure(&mut rng),
            ],
            Class::Ipv6 => vec![format!(
                "2603:10a6:{:x}:{:x}::{:x}",
                rng.range(1, 0xffff),
                rng.range(1, 0xffff),
                rng.range(1, 0xffff)
            )],
        };
        let roll = rng.below(10);
        let (cred_type, key_id, thumbprint, federated, auth_method) = if class == Class::Managed {
            let (key, thumb) = if rng.chance(1, 3) { (Maybe::Null, Maybe::Null) } else { (Maybe::Empty, Maybe::Empty) };
            ("managedIdentity", key, thumb, Maybe::Empty, 2)
        } else if roll < 5 {
            let thumb: String = (0..40).map(|_| b"0123456789ABCDEF"[rng.below(16) as usize] as char).collect();
            ("certificate", Maybe::Val(guid(&mut rng)), Maybe::Val(thumb), Maybe::Empty, 2)
        } else if roll < 9 {
            ("clientSecret", Maybe::Val(guid(&mut rng)), Maybe::Empty, Maybe::Empty, 1)
        } else {
            ("federatedIdentityCredential", Maybe::Empty, Maybe::Empty, Maybe::Val(guid(&mut rng)), 2)
        };
        let mut favorites = [0u8; 4];
        for f in favorites.iter_mut() {
            *f = rng.choose(WORKLOAD_TEMPLATES);
        }
        let msi_type = if rng.chance(1, 2) { "SystemAssigned" } else { "UserAssigned" };
        let msi_resource = if class == Class::Managed {
            format!(
                "/subscriptions/{}/resourceGroups/rg-{}/providers/Microsoft.Web/sites/{}",
                guid(&mut rng),
                env,
                name
            )
        } else {
            String::new()
        };
        Workload {
            class,
            name,
            sp_id,
            app_id,
            key_id,
            thumbprint,
            cred_type,
            federated,
            auth_method,
            ips,
            place: rng.choose(PLACES),
            asn: rng.choose(&[8075u32, 8075, 8075, 3320, 3209, 16509, 15169, 6805]),
            user_agent: rng.choose(WORKLOAD_UAS),
            roles: rng.choose(ROLES),
            favorites,
            auth_library: rng.choose(AUTH_LIBS),
            msi_type: if class == Class::Managed { msi_type } else { "" },
            msi_resource,
            region: rng.choose(REGIONS),
        }
    }

    fn caller(&self) -> Caller<'_> {
        Caller {
            app_id: self.app_id,
            sp_id: Maybe::Val(self.sp_id),
            user_id: Maybe::Empty,
            user_agent: self.user_agent,
            roles: self.roles,
            scopes: "",
            wids: SP_WIDS,
            auth_method: self.auth_method,
            id_type: "app",
            templates: &self.favorites,
            region: self.region,
        }
    }
}

/// Streaming iterator over a dataset's events.
pub struct Events<'a> {
    ds: &'a Dataset,
    next_unit: usize,
    end_unit: usize,
    cum: u64,
    scratch: Vec<Event>,
    pending: std::vec::IntoIter<Event>,
}

impl<'a> Events<'a> {
    fn new(ds: &'a Dataset, first: usize, end: usize, cum: u64) -> Events<'a> {
        Events { ds, next_unit: first, end_unit: end, cum, scratch: Vec::new(), pending: Vec::new().into_iter() }
    }

    /// Generates the next unit and lends its events as a slice (no per-event
    /// moves; used by the writers). Do not mix with `next()`.
    pub(crate) fn next_unit(&mut self) -> Option<&[Event]> {
        if self.next_unit >= self.end_unit {
            return None;
        }
        self.ds.gen_unit(self.next_unit, &mut self.cum, &mut self.scratch);
        self.next_unit += 1;
        Some(&self.scratch)
    }
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(ev) = self.pending.next() {
                return Some(ev);
            }
            if self.next_unit >= self.end_unit {
                return None;
            }
            let mut v = Vec::new();
            self.ds.gen_unit(self.next_unit, &mut self.cum, &mut v);
            self.next_unit += 1;
            self.pending = v.into_iter();
        }
    }
}

/// The Microsoft Graph app id (resource of every service-principal sign-in here).
pub(crate) fn graph_app_id() -> Guid {
    GRAPH_APP_ID
}
