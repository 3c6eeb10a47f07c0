//! The expression evaluator: the T1528 filters over representative Graph and
//! sign-in rows, its mismatch over joined pairs, and the credential rule's
//! string filter, through `sigcorr::eval` with a small `Columns` impl, and
//! compiled as the engine runs them (`sigcorr::pred`); and the string
//! operators alone, with the needle compiled or not (`sigcorr::search`).
//!
//! `cargo bench --bench eval`

use std::borrow::Cow;
use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sigcorr::ast::StrOp;
use sigcorr::check::TExpr;
use sigcorr::eval::{self, Columns};
use sigcorr::plan::Plan;
use sigcorr::pred::Pred;
use sigcorr::search::{self, Needle};
use sigcorr::value::{JsonScalar, Value};
use sigcorr_datagen::Table;

mod common;

/// One record's projected columns, by column id, typed as the plan says.
struct Row {
    values: Vec<Option<Value<'static>>>,
}

impl Row {
    /// `json` as a record of its `Type`'s table; `None` when no rule reads that table.
    fn new(plan: &Plan, json: &serde_json::Value) -> Option<Row> {
        let table = &plan.tables[plan.table_index(json.get("Type")?.as_str()?)?];
        let mut values = vec![None; plan.columns.len()];
        for p in &table.projection {
            let text;
            let scalar = match json.get(&plan.columns[p.column as usize]) {
                None | Some(serde_json::Value::Null) => JsonScalar::Null,
                Some(serde_json::Value::String(s)) => JsonScalar::Str(Cow::Borrowed(s)),
                Some(serde_json::Value::Bool(b)) => JsonScalar::Bool(*b),
                Some(other) => {
                    text = other.to_string();
                    if other.is_number() { JsonScalar::Num(&text) } else { JsonScalar::Raw(&text) }
                }
            };
            values[p.column as usize] = Some(Value::from_json(scalar, p.ty).ok()?.into_owned());
        }
        Some(Row { values })
    }
}

/// One record: every source index reads it.
struct One<'r>(&'r Row);

impl Columns for One<'_> {
    fn column_ref(&self, _source: usize, id: u32) -> Option<&Value<'_>> {
        self.0.values[id as usize].as_ref()
    }
}

/// A joined pair: source 0 and source 1.
struct Pair<'r>([&'r Row; 2]);

impl Columns for Pair<'_> {
    fn column_ref(&self, source: usize, id: u32) -> Option<&Value<'_>> {
        self.0[source].values[id as usize].as_ref()
    }
}

fn rows(plan: &Plan, buf: &[u8]) -> Vec<(serde_json::Value, Row)> {
    common::lines(buf)
        .into_iter()
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
        .filter_map(|j| Row::new(plan, &j).map(|r| (j, r)))
        .collect()
}

fn filter(plan: &Plan, rule: usize, source: usize) -> &TExpr {
    plan.rules[rule].sources[source].filter.as_ref().expect("the source has a filter")
}

fn evaluate(c: &mut Criterion) {
    let now = common::now();
    let data = common::dataset();
    let plan = common::plan(&[common::T1528, common::CREDENTIAL_ADDED]);
    let graph = rows(&plan, &data[&Table::MicrosoftGraphActivityLogs]);
    let mut signins = rows(&plan, &data[&Table::AADServicePrincipalSignInLogs]);
    signins.extend(rows(&plan, &data[&Table::AADManagedIdentitySignInLogs]));
    assert_eq!(graph.len(), 2000);

    // Joined pairs: each Graph row with the sign-in rows of its token.
    let mut by_uti: HashMap<&str, Vec<&Row>> = HashMap::new();
    for (j, r) in &signins {
        if let Some(uti) = j["UniqueTokenIdentifier"].as_str().filter(|u| !u.is_empty()) {
            by_uti.entry(uti).or_default().push(r);
        }
    }
    let pairs: Vec<Pair> = graph
        .iter()
        .filter_map(|(j, r)| Some((j["SignInActivityId"].as_str()?, r)))
        .flat_map(|(uti, r)| by_uti.get(uti).into_iter().flatten().map(move |s| Pair([r, s])))
        .collect();

    let (activity, signin) = (filter(&plan, 0, 0), filter(&plan, 0, 1));
    let mismatch = plan.rules[0].mismatch.as_ref().expect("T1528 has a mismatch");
    let credential = filter(&plan, 1, 0);

    // Guards against measuring nothing: each expression is true for some rows and false for others.
    let count = |e: &TExpr, rows: &[(serde_json::Value, Row)]| {
        rows.iter().filter(|(_, r)| eval::holds(e, &One(r), now)).count()
    };
    let hits = [count(activity, &graph), count(signin, &signins), count(credential, &graph)];
    let mismatches = pairs.iter().filter(|p| eval::holds(mismatch, *p, now)).count();
    for (n, total) in
        [(hits[0], graph.len()), (hits[1], signins.len()), (hits[2], graph.len()), (mismatches, pairs.len())]
    {
        assert!(0 < n && n < total, "an expression holds for {n} of {total} rows");
    }

    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(graph.len() as u64));
    g.bench_function("t1528 activity filter (TimeGenerated > ago(30d) and status between)", |b| {
        b.iter(|| graph.iter().filter(|(_, r)| eval::holds(black_box(activity), &One(r), now)).count())
    });
    g.bench_function("credential-added filter (== and has, 4 string tests)", |b| {
        b.iter(|| graph.iter().filter(|(_, r)| eval::holds(black_box(credential), &One(r), now)).count())
    });
    g.throughput(Throughput::Elements(signins.len() as u64));
    g.bench_function("t1528 signin filter (isnotempty(IPAddress))", |b| {
        b.iter(|| signins.iter().filter(|(_, r)| eval::holds(black_box(signin), &One(r), now)).count())
    });
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("t1528 mismatch over joined pairs (signin.IPAddress != activity.IPAddress)", |b| {
        b.iter(|| pairs.iter().filter(|p| eval::holds(black_box(mismatch), *p, now)).count())
    });
    g.finish();

    // The same expressions compiled as the engine runs them (`sigcorr::pred`).
    let (activity, credential) = (Pred::compile(activity, now), Pred::compile(credential, now));
    let mismatch = Pred::compile(mismatch, now);
    let compiled_hits = [
        graph.iter().filter(|(_, r)| activity.holds(&One(r), now)).count(),
        graph.iter().filter(|(_, r)| credential.holds(&One(r), now)).count(),
        pairs.iter().filter(|p| mismatch.holds(*p, now)).count(),
    ];
    assert_eq!(compiled_hits, [hits[0], hits[2], mismatches], "compiled and interpreted agree");
    let mut g = c.benchmark_group("pred");
    g.throughput(Throughput::Elements(graph.len() as u64));
    g.bench_function("t1528 activity filter, compiled", |b| {
        b.iter(|| graph.iter().filter(|(_, r)| black_box(&activity).holds(&One(r), now)).count())
    });
    g.bench_function("credential-added filter, compiled", |b| {
        b.iter(|| graph.iter().filter(|(_, r)| black_box(&credential).holds(&One(r), now)).count())
    });
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("t1528 mismatch over joined pairs, compiled", |b| {
        b.iter(|| pairs.iter().filter(|p| black_box(&mismatch).holds(*p, now)).count())
    });
    g.finish();
}

/// The string operators on Graph request URIs and user agents: a constant
/// needle compiled once (`search::Needle`, what filters use) against the
/// same test with the needle known only at run time (`search::str_test`).
fn search(c: &mut Criterion) {
    let data = common::dataset();
    let graph: Vec<serde_json::Value> = common::lines(&data[&Table::MicrosoftGraphActivityLogs])
        .into_iter()
        .map(|l| serde_json::from_slice(l).expect("generated JSON"))
        .collect();
    let texts = |column: &str| -> Vec<String> {
        graph.iter().map(|j| j[column].as_str().unwrap_or_default().to_string()).collect()
    };
    let (uris, agents) = (texts("RequestUri"), texts("UserAgent"));
    let cases: [(&str, &[String], StrOp, &str, bool); 4] = [
        ("RequestUri contains \"/users/\"", &uris, StrOp::Contains, "/users/", false),
        ("RequestUri has \"servicePrincipals\"", &uris, StrOp::Has, "servicePrincipals", false),
        ("RequestUri contains_cs \"$filter\"", &uris, StrOp::Contains, "$filter", true),
        ("UserAgent has \"python\"", &agents, StrOp::Has, "python", false),
    ];
    let mut g = c.benchmark_group("search");
    g.throughput(Throughput::Elements(graph.len() as u64));
    for (name, hay, op, needle, cs) in cases {
        let compiled = Needle::new(needle, cs);
        let dynamic = hay.iter().filter(|h| search::str_test(op, h, needle, cs)).count();
        let fast = hay.iter().filter(|h| compiled.test(op, h)).count();
        assert_eq!(fast, dynamic, "{name}: compiled and dynamic agree");
        assert!(0 < fast && fast < hay.len(), "{name} holds for {fast} of {} rows", hay.len());
        g.bench_function(format!("{name}, compiled needle"), |b| {
            b.iter(|| hay.iter().filter(|h| black_box(&compiled).test(op, h)).count())
        });
        g.bench_function(format!("{name}, needle at run time"), |b| {
            b.iter(|| hay.iter().filter(|h| search::str_test(op, h, black_box(needle), cs)).count())
        });
    }
    g.finish();
}

criterion_group!(benches, evaluate, search);
criterion_main!(benches);
