//! The run context: everything decided once per run, before any record is
//! read, and the decisions each pass makes from it.
//!
//! A run makes one pass over its inputs, or two when every input can be read
//! twice (files and bytes, not standard input or a reader) and some rule
//! joins ([`Passes::choose`]):
//!
//! 1. **build pass**: for each correlation rule, the source estimated to be
//!    smaller ([`estimate`]) is its build side; records of tables with build
//!    sides are parsed, filtered, and kept; hash tables are built on them.
//!    Single-source rules on those tables alert here, unless the table is
//!    also a probe side: each record is parsed once.
//! 2. **stream pass**: records of the other tables are parsed, filtered and
//!    probed, one block at a time; single-source rules on them alert here.
//!
//! Memory then grows with the build sides only. A cheap look at each
//! record's `Type` (or `category`) text ([`hint`]) decides which pass parses
//! it ([`Ctx::record_passes`]); the full parse routes it for real
//! ([`Ctx::misled`]), so a record the hint misjudged is still evaluated: a
//! stream-side record read in the build pass is deferred to the stream pass,
//! and a build-side record found only in the stream pass makes the run start
//! again in one pass. One pass keeps every side and joins at the end.

use super::Options;
use super::join::Join;
use super::rows::{Row, RowRef};
use super::sample::{Estimate, estimate, hint};
use crate::check::{TExpr, TKind};
use crate::input::{FieldIndex, InputFile};
use crate::plan::{Plan, TablePlan};
use crate::pred::Pred;

/// How many passes a run makes over its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Passes {
    One,
    Two,
}

impl Passes {
    /// Two passes when every input can be read twice and some rule joins
    /// two sources; else one.
    pub(super) fn choose(plan: &Plan, files: &[InputFile]) -> Passes {
        let joins = plan.rules.iter().any(|r| r.sources.len() == 2);
        if joins && files.iter().all(InputFile::rereadable) { Passes::Two } else { Passes::One }
    }
}

/// What a rule's source does with the records its filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A single-source rule: each record is an alert.
    Single,
    /// Kept, hashed, probed by the other side.
    Build,
    /// Streamed against the other side's hash table.
    Probe,
    /// One-pass mode: kept; the join picks its build side at the end.
    Keep,
}

/// Which records a pass parses, and what it does with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// The only pass: every role.
    Only,
    /// Two-pass mode, first: build sides, and single-source rules on built
    /// tables that no rule probes with.
    Build,
    /// Two-pass mode, second: probe sides, and the other single-source rules.
    Stream,
}

/// Each rule's filters and mismatch, compiled for the run's `now`.
pub(super) struct Preds {
    /// `filters[rule][source]`.
    pub(super) filters: Vec<Vec<Option<Pred>>>,
    pub(super) mismatch: Vec<Option<Pred>>,
}

/// The compiled predicates of a plan's last run, kept with the plan
/// ([`Plan::preds`]): a program that runs one plan many times (`sigcorr
/// test`'s cases, a fuzzer) builds its search automata once per `now`,
/// not once per run.
#[derive(Default)]
pub struct PredCache(std::sync::Mutex<Option<(i64, std::sync::Arc<Preds>)>>);

impl std::fmt::Debug for PredCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PredCache")
    }
}

impl Preds {
    /// `plan`'s predicates for `now`, from its cache when they were
    /// compiled for the same `now`.
    fn shared(plan: &Plan, now: i64) -> std::sync::Arc<Preds> {
        let mut cached = plan.preds.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((at, preds)) if *at == now => preds.clone(),
            _ => {
                let preds = std::sync::Arc::new(Preds::new(plan, now));
                *cached = Some((now, preds.clone()));
                preds
            }
        }
    }

    fn new(plan: &Plan, now: i64) -> Preds {
        let compile = |e: &Option<crate::check::TExpr>| e.as_ref().map(|e| Pred::compile(e, now));
        Preds {
            filters: plan.rules.iter().map(|r| r.sources.iter().map(|s| compile(&s.filter)).collect()).collect(),
            mismatch: plan.rules.iter().map(|r| compile(&r.mismatch)).collect(),
        }
    }
}

/// Which passes read an input, from the tables its sample names. A record
/// the sample did not foresee is still evaluated: a stream-side record in a
/// build-only input is deferred to the stream pass; a build-side record in a
/// stream-only input makes the run fall back to one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileRole {
    /// Both passes; each record by its hint.
    Both,
    /// Only the build pass, which parses and counts every record.
    BuildOnly,
    /// Only the stream pass, which parses and counts every record.
    StreamOnly,
}

pub(super) fn file_role(seen: Option<u64>, builds: &[bool], streams: &[bool]) -> FileRole {
    let Some(bits) = seen else { return FileRole::Both };
    let tables = || (0..builds.len().min(64)).filter(move |t| bits >> t & 1 == 1);
    if tables().all(|t| builds[t] && !streams[t]) {
        FileRole::BuildOnly
    } else if tables().all(|t| streams[t] && !builds[t]) {
        FileRole::StreamOnly
    } else {
        FileRole::Both
    }
}

/// Everything a pass needs to read a block: what is decided once per run,
/// which pass this is, and, in the stream pass, the build side's rows and
/// hash tables.
pub(super) struct Ctx<'p> {
    pub(super) plan: &'p Plan,
    pub(super) now: i64,
    pub(super) options: Options<'p>,
    pub(super) preds: std::sync::Arc<Preds>,
    pub(super) index: FieldIndex,
    /// `roles[rule][source]`.
    pub(super) roles: Vec<Vec<Role>>,
    /// Per table: some user is a build side / streams (probe or single).
    pub(super) builds: Vec<bool>,
    pub(super) streams: Vec<bool>,
    /// Two passes: which passes read each input (empty in one pass).
    pub(super) files: Vec<FileRole>,
    /// Per table and slot: whether kept rows hold the column's value, and
    /// its raw text.
    pub(super) kept_columns: Vec<KeptColumns>,
    pub(super) pass: Pass,
    /// The stream pass's (and one pass's, once read) build rows and hash
    /// tables; empty before.
    pub(super) built: Built,
}

/// Build rows and the hash tables on them.
#[derive(Default)]
pub(super) struct Built {
    /// Per table plan, the rows kept.
    pub(super) rows: Vec<Vec<Row<'static>>>,
    pub(super) joins: Vec<Join>,
    /// Per rule: its hash table and member bit there.
    pub(super) probes: Vec<Option<(usize, u64)>>,
}

impl Built {
    /// The build row `r`.
    pub(super) fn row(&self, r: RowRef) -> &Row<'static> {
        &self.rows[r.table as usize][r.index as usize]
    }
}

/// Which passes parse a record, and which one counts it (the last that
/// parses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RecordPasses {
    /// This pass parses it.
    pub(super) parse: bool,
    /// This pass counts it.
    pub(super) count: bool,
    /// The build pass parses it.
    pub(super) build: bool,
    /// The stream pass parses it.
    pub(super) stream: bool,
}

/// A record whose hint sent it to the wrong pass ([`Ctx::misled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Misled {
    /// A stream-side record read in the build pass only: the stream pass
    /// evaluates it.
    Defer,
    /// A build-side record read in the stream pass only: too late to hash,
    /// so the run starts again in one pass.
    Late,
}

impl<'p> Ctx<'p> {
    /// The context of a run making `passes` passes over `files`: in two,
    /// each join's smaller side (by [`estimate`]) is built, and the first
    /// pass is the build pass; in one, every side is kept.
    pub(super) fn new(plan: &'p Plan, files: &[InputFile], now: i64, options: Options<'p>, passes: Passes) -> Ctx<'p> {
        let (roles, estimate, pass) = match passes {
            Passes::Two => {
                let estimate = estimate(plan, files, options.read);
                (two_pass_roles(plan, &estimate), Some(estimate), Pass::Build)
            }
            Passes::One => {
                let roles = plan
                    .rules
                    .iter()
                    .map(|r| match r.sources.len() {
                        0 => vec![],
                        1 => vec![Role::Single],
                        _ => vec![Role::Keep, Role::Keep],
                    })
                    .collect();
                (roles, None, Pass::Only)
            }
        };
        let (builds, streams) = table_flags(plan, &roles);
        let files = match estimate {
            Some(e) => e.seen.iter().map(|&seen| file_role(seen, &builds, &streams)).collect(),
            None => Vec::new(),
        };
        Ctx {
            plan,
            now,
            options,
            preds: Preds::shared(plan, now),
            index: FieldIndex::new(&plan.fields),
            kept_columns: kept_columns(plan, &roles),
            roles,
            builds,
            streams,
            files,
            pass,
            built: Built::default(),
        }
    }

    fn file_role(&self, file: u32) -> FileRole {
        self.files.get(file as usize).copied().unwrap_or(FileRole::Both)
    }

    /// Whether this pass reads input `file`.
    pub(super) fn reads(&self, file: u32) -> bool {
        !matches!(
            (self.pass, self.file_role(file)),
            (Pass::Build, FileRole::StreamOnly) | (Pass::Stream, FileRole::BuildOnly)
        )
    }

    /// Whether this pass reports input `file`'s lines, problems and records
    /// that parse in both passes: the last pass that reads it.
    pub(super) fn counts(&self, file: u32) -> bool {
        match self.pass {
            Pass::Only => true,
            Pass::Build => self.file_role(file) == FileRole::BuildOnly,
            Pass::Stream => self.file_role(file) != FileRole::BuildOnly,
        }
    }

    /// Which passes parse a record of input `file` whose text is `text`, by
    /// its hint. `from_input`: false for a record the build pass deferred,
    /// which the stream pass parses and the build pass already counted.
    pub(super) fn record_passes(&self, file: u32, from_input: bool, text: &[u8]) -> RecordPasses {
        let all = |parse, count, build, stream| RecordPasses { parse, count, build, stream };
        match (self.pass, from_input, self.file_role(file)) {
            (Pass::Only, _, _) => all(true, true, true, true),
            (_, false, _) => all(true, false, true, true),
            (Pass::Build, true, FileRole::BuildOnly) => all(true, true, true, false),
            (Pass::Stream, true, FileRole::StreamOnly) => all(true, true, false, true),
            (pass, true, _) => {
                let h = hint(self.plan, text);
                let build = h.is_none_or(|t| self.builds[t]);
                let stream = h.is_none_or(|t| self.streams[t]);
                match pass {
                    Pass::Build => all(build, !stream, build, stream),
                    _ => all(stream, true, build, stream),
                }
            }
        }
    }

    /// Whether a record of table `t`, parsed by the passes in `passes`,
    /// belongs to a pass its hint kept it from.
    pub(super) fn misled(&self, t: usize, passes: RecordPasses) -> Option<Misled> {
        match self.pass {
            Pass::Build if self.streams[t] && !passes.stream => Some(Misled::Defer),
            Pass::Stream if self.builds[t] && !passes.build => Some(Misled::Late),
            _ => None,
        }
    }

    /// Whether this pass runs the filter of a source in `role` on table `t`.
    /// Single-source rules run in whichever pass reads the table (see
    /// [`table_flags`]).
    pub(super) fn runs(&self, role: Role, t: usize) -> bool {
        match self.pass {
            Pass::Only => true,
            Pass::Build => role == Role::Build || (role == Role::Single && !self.streams[t]),
            Pass::Stream => role == Role::Probe || (role == Role::Single && self.streams[t]),
        }
    }
}

/// Two passes: per rule, its one source is single; of two, the smaller by
/// `estimate` is built, the other probes (on a tie, the second is built:
/// Kusto's lookup table).
fn two_pass_roles(plan: &Plan, estimate: &Estimate) -> Vec<Vec<Role>> {
    let sizes = &estimate.sizes;
    plan.rules
        .iter()
        .zip(&plan.sources)
        .map(|(rule, tables)| match rule.sources.len() {
            0 => vec![],
            1 => vec![Role::Single],
            _ => {
                let size = |s: usize| tables[s].iter().map(|&t| sizes[t]).sum::<f64>();
                // An anti-join probes with its first source: the second is built.
                if !rule.anti && size(0) < size(1) {
                    vec![Role::Build, Role::Probe]
                } else {
                    vec![Role::Probe, Role::Build]
                }
            }
        })
        .collect()
}

/// Per table: whether the build pass reads it (some rule builds on it), and
/// whether the stream pass does (some rule probes with it, or single-source
/// rules read it and no rule builds on it). Single-source rules need no hash
/// table, so on a built table they run in the build pass: its records are
/// read once.
fn table_flags(plan: &Plan, roles: &[Vec<Role>]) -> (Vec<bool>, Vec<bool>) {
    let has = |t: &TablePlan, f: &dyn Fn(Role) -> bool| t.users.iter().any(|&(r, s)| f(roles[r][s]));
    let builds: Vec<bool> = plan.tables.iter().map(|t| has(t, &|r| matches!(r, Role::Build | Role::Keep))).collect();
    let streams = plan
        .tables
        .iter()
        .zip(&builds)
        .map(|(t, &built)| has(t, &|r| r == Role::Probe) || (!built && has(t, &|r| r == Role::Single)))
        .collect();
    (builds, streams)
}

/// Per slot of a table: whether a kept row holds the column's value, and
/// its raw text (for output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeptColumns {
    pub(super) values: Vec<bool>,
    pub(super) raw: Vec<bool>,
}

/// Per table, the columns a kept row holds: those a rule keeping the
/// table's rows (a build side, or either side in one pass) reads after the
/// filter, in its join keys, mismatch or output; and the raw texts of the
/// columns it outputs as they are. A row is kept once its filter has
/// passed, so columns only filters (or single-source rules) read are not
/// kept: in the 20-rule benchmark, a sign-in's result description,
/// location and autonomous system, among others, and the raw text of its
/// `TimeGenerated`, which a single-source rule outputs.
fn kept_columns(plan: &Plan, roles: &[Vec<Role>]) -> Vec<KeptColumns> {
    plan.tables
        .iter()
        .map(|t| {
            let n = t.projection.len();
            let mut kept = KeptColumns { values: vec![false; n], raw: vec![false; n] };
            for &(r, source) in &t.users {
                if !matches!(roles[r][source], Role::Build | Role::Keep) {
                    continue;
                }
                let rule = &plan.rules[r];
                let slot = |x: &TExpr| match &x.kind {
                    TKind::Column(c) if c.source == source => t.slot(c.id),
                    _ => None,
                };
                let keys = rule.join.iter().flat_map(|k| [&k.left, &k.right]);
                for e in keys.chain(&rule.mismatch).chain(rule.output.iter().map(|o| &o.expr)) {
                    e.walk(&mut |x| {
                        if let Some(s) = slot(x) {
                            kept.values[s] = true;
                        }
                    });
                }
                for s in rule.output.iter().filter_map(|o| slot(&o.expr)) {
                    kept.raw[s] = true;
                }
            }
            kept
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kept rows hold what keeping rules read after the filter (keys,
    /// mismatch, output) and the raw texts of what they output; not what
    /// filters and single-source rules read.
    #[test]
    fn kept_rows_hold_the_columns_joins_read_after_the_filter() {
        let join = "  sources:\n    a: MicrosoftGraphActivityLogs\n    s: AADServicePrincipalSignInLogs\n\
                    \x20 filter:\n    s: ResultType == \"0\"\n\
                    \x20 join: a.SignInActivityId == s.UniqueTokenIdentifier\n\
                    \x20 mismatch: a.TimeGenerated - s.TimeGenerated > 1h\n\
                    \x20 output:\n    Name: s.ServicePrincipalName\n    Code: a.ResponseStatusCode\n    N: strlen(s.AppId)\n";
        let single = "  sources:\n    s: AADServicePrincipalSignInLogs\n  filter:\n    s: isnotempty(Location)\n\
                      \x20 output:\n    T: s.TimeGenerated\n    D: s.ResultDescription\n";
        let plan = crate::plan::plan_of(&[crate::plan::test_rule(0, join), crate::plan::test_rule(1, single)]);
        let held = |roles: &[Vec<Role>], table: &str| {
            let t = plan.tables.iter().position(|t| t.name == table).unwrap();
            let kept = &kept_columns(&plan, roles)[t];
            let names = |mask: &[bool]| -> Vec<String> {
                let mut names: Vec<String> = (0..mask.len())
                    .filter(|&s| mask[s])
                    .map(|s| plan.columns[plan.tables[t].projection[s].column as usize].clone())
                    .collect();
                names.sort();
                names
            };
            (names(&kept.values), names(&kept.raw))
        };
        let two_passes = [vec![Role::Probe, Role::Build], vec![Role::Single]];
        let (values, raw) = held(&two_passes, "AADServicePrincipalSignInLogs");
        assert_eq!(values, ["AppId", "ServicePrincipalName", "TimeGenerated", "UniqueTokenIdentifier"]);
        assert_eq!(raw, ["ServicePrincipalName"]);
        assert_eq!(held(&two_passes, "MicrosoftGraphActivityLogs"), (vec![], vec![]), "probed, not kept");
        let one_pass = [vec![Role::Keep, Role::Keep], vec![Role::Single]];
        let (values, raw) = held(&one_pass, "MicrosoftGraphActivityLogs");
        assert_eq!(values, ["ResponseStatusCode", "SignInActivityId", "TimeGenerated"]);
        assert_eq!(raw, ["ResponseStatusCode"]);
    }

    /// A table that a rule builds on and single-source rules read is read by
    /// the build pass only; one that single-source rules alone read streams.
    #[test]
    fn single_source_rules_on_a_built_table_run_in_the_build_pass() {
        let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/entra/service_principal_token_ip_mismatch.yml");
        let seed = std::fs::read_to_string(seed).unwrap();
        let single = |i: usize, table: &str| {
            let correlation = format!(
                "  sources:\n    signin: {table}\n  filter:\n    signin: isnotempty(IPAddress)\n\
                 \x20 output:\n    IPAddress: signin.IPAddress\n"
            );
            crate::plan::test_rule(i, &correlation)
        };
        // The join builds on service-principal sign-ins only.
        let seed = seed.replace(
            "signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]",
            "signin: AADServicePrincipalSignInLogs",
        );
        let (sp, mi) = ("AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs");
        let files = [crate::span::SourceFile::new("seed.yml", seed), single(1, sp), single(2, mi)];
        let plan = crate::plan::plan_of(&files);
        let roles: Vec<Vec<Role>> = plan
            .rules
            .iter()
            .map(|r| match r.sources.len() {
                0 => vec![],
                1 => vec![Role::Single],
                _ => vec![Role::Probe, Role::Build],
            })
            .collect();
        let (builds, streams) = table_flags(&plan, &roles);
        let flags = |name: &str| {
            let t = plan.tables.iter().position(|t| t.name == name).unwrap();
            (builds[t], streams[t])
        };
        assert_eq!(flags(sp), (true, false), "built, and read by a single-source rule");
        assert_eq!(flags(mi), (false, true), "read by a single-source rule only");
        assert_eq!(flags("MicrosoftGraphActivityLogs"), (false, true), "the probe side");
    }

    /// The decision table of the two passes: which pass parses and counts a
    /// record by its hint, and what a misled hint does.
    #[test]
    fn each_pass_parses_its_tables_and_the_last_to_parse_counts() {
        let files = crate::builtin::seed_rule_files();
        let (rules, _) = crate::compile_rules(&files, &crate::table::Catalog::builtin());
        let plan = crate::plan::plan(rules, &crate::table::Catalog::builtin());
        // No inputs to sample: a tie, so the second source (the sign-ins) is built.
        let mut cx = Ctx::new(&plan, &[], 0, Options::default(), Passes::Two);
        let t = |name: &str| plan.table_index(name).unwrap();
        let (graph, signin) = (t("MicrosoftGraphActivityLogs"), t("AADServicePrincipalSignInLogs"));
        assert!(cx.streams[graph] && !cx.builds[graph] && cx.builds[signin] && !cx.streams[signin]);
        let graph_text = br#"{"Type":"MicrosoftGraphActivityLogs"}"#;
        let signin_text = br#"{"Type":"AADServicePrincipalSignInLogs"}"#;
        let unknown = br#"{"no":"type"}"#;
        let passes = |parse, count, build, stream| RecordPasses { parse, count, build, stream };

        assert_eq!(cx.pass, Pass::Build);
        assert_eq!(cx.record_passes(0, true, graph_text), passes(false, false, false, true));
        assert_eq!(cx.record_passes(0, true, signin_text), passes(true, true, true, false));
        // No hint: both passes parse it, the stream pass counts it.
        assert_eq!(cx.record_passes(0, true, unknown), passes(true, false, true, true));
        // Parsed in the build pass but of a streamed table: deferred.
        assert_eq!(cx.misled(graph, passes(true, true, true, false)), Some(Misled::Defer));
        assert_eq!(cx.misled(signin, passes(true, true, true, false)), None);

        cx.pass = Pass::Stream;
        assert_eq!(cx.record_passes(0, true, graph_text), passes(true, true, false, true));
        assert!(!cx.record_passes(0, true, signin_text).parse);
        // A deferred record: parsed, counted by the build pass already.
        assert_eq!(cx.record_passes(0, false, signin_text), passes(true, false, true, true));
        // A build-side record only the stream pass parsed: too late.
        assert_eq!(cx.misled(signin, passes(true, true, false, true)), Some(Misled::Late));
        assert_eq!(cx.misled(graph, passes(true, true, false, true)), None);

        let one = Ctx::new(&plan, &[], 0, Options::default(), Passes::One);
        assert_eq!(one.pass, Pass::Only);
        assert_eq!(one.record_passes(0, true, graph_text), passes(true, true, true, true));
        assert_eq!(one.misled(signin, passes(true, true, true, true)), None);
    }
}
