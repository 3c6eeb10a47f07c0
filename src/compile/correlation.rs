//! Sigma correlation rules to DuckDB and Spark SQL, with the engine's
//! windows (README, "Sigma correlation rules"):
//!
//! 1. **events**: each referenced rule's own query (`sql::query`), with
//!    its event time in ticks; its group-by outputs (through `aliases`) and
//!    value become the event's keys and value.
//! 2. **windows**: per group, at each event, the events from `timespan`
//!    before its time up to it, ties included: a `RANGE` frame over the
//!    ticks, whose first and last event numbers and aggregate it keeps.
//! 3. **bursts**: firing windows that share an event (one starts at or
//!    before the previous one's last event) are one alert, whose count,
//!    times and value are over all its events.
//!
//! A correlation over a correlation reads the inner one's alerts as events
//! at their last time, as the engine does. What the SQL cannot say with the
//! engine's meaning is refused (E800): chains in Spark SQL, and chains
//! deeper than 16 or holding more than 256 rule queries (the PySpark job
//! reads inner correlations from views instead, [`Options::views`], so its
//! chains have neither limit). temporal_ordered
//! adds, per event of each rule after the first, the latest start of an
//! in-order chain ending at it (running maxima). An extended condition
//! (`a and not b`) reads forward windows instead: at each event time `t`,
//! the events from `t` to `t + timespan`, counted per referenced rule.

use super::sql::{self, Dialect, EVIDENCE, Query, TIME, ticks_text};
use super::{Options, unsupported};
use crate::check::CheckedRule;
use crate::correlate::Spec;
use crate::diagnostic::Diagnostic;
use crate::sigma::correlation::{Cmp, Kind};

/// Correlation `rules[r]` as one query.
pub fn compile(rules: &[CheckedRule], r: usize, dialect: Dialect, opts: &Options) -> Result<String, Diagnostic> {
    let rule = &rules[r];
    let spec = rule.correlation.as_deref().expect("a correlation rule");
    let target = dialect.target();
    let Query { ctes, select } = query(rules, r, dialect, opts, "", false, &mut (0, MAX_QUERIES))?;
    let mut out = super::header(rule, target);
    out.push_str(&sql::preamble(dialect, opts));
    let c = target.comment();
    let span = super::timespan_literal(spec.timespan);
    let windows = match spec.expression {
        Some(_) => format!("windows of {span} from each event time"),
        None => format!("sliding windows of {span}"),
    };
    out.push_str(&format!(
        "{c} Sigma {} correlation: per group, {windows} (both ends included); firing windows that share an event are one alert\n",
        spec.kind.name()
    ));
    out.push_str(&format!("WITH\n{}\n{select};\n", ctes.join(",\n")));
    Ok(out)
}

/// Correlation `rules[r]`'s alerts as a correlation over it reads them
/// (the last event's time as `__time`): the query the PySpark job computes
/// and registers as [`view_name`]`(r)` ([`Options::views`]).
pub fn view(rules: &[CheckedRule], r: usize, dialect: Dialect, opts: &Options) -> Result<String, Diagnostic> {
    let Query { ctes, select } = query(rules, r, dialect, opts, "", true, &mut (0, MAX_QUERIES))?;
    Ok(format!("WITH\n{}\n{select}", ctes.join(",\n")))
}

/// The view holding correlation `rules[r]`'s alerts ([`view`]).
pub fn view_name(r: usize) -> String {
    format!("__sigcorr_view_{r}")
}

/// The longest window a frame needs, in ticks: more than the distance
/// between any two datetimes (years 0 to 9999, about 3.2e18 ticks), far
/// enough from i64's limits that an event time plus or minus it does not
/// overflow. A longer timespan holds the same events.
const MAX_SPAN: i64 = 4_000_000_000_000_000_000;

/// How deep a chain of correlations compiles (each level is a query around
/// the one below it).
const MAX_CHAIN: usize = 16;

/// The most rule queries one compiled correlation holds: a rule referenced
/// twice is written twice, so a chain that branches would grow without bound.
const MAX_QUERIES: usize = 256;

/// Correlation `rules[r]` as a [`Query`], its table expressions' names
/// starting with `prefix`; with `time`, its alerts are events of a
/// correlation over it: the SELECT adds [`TIME`], the last event's time.
/// `at`: this query's depth in the chain, and how many more rule queries
/// the whole may hold.
fn query(
    rules: &[CheckedRule],
    r: usize,
    dialect: Dialect,
    opts: &Options,
    prefix: &str,
    time: bool,
    at: &mut (usize, usize),
) -> Result<Query, Diagnostic> {
    let rule = &rules[r];
    let spec = rule.correlation.as_deref().expect("a correlation rule");
    let target = dialect.target();
    let no = |construct: &str, why: &str| Err(unsupported(rule, rule.doc.correlation.span, construct, target, why));
    if at.0 >= MAX_CHAIN {
        return no("a chain of correlations", &format!("it is deeper than {MAX_CHAIN}"));
    }
    for name in &spec.group_by {
        if let Some(d) = super::unquotable_name(rule, rule.doc.correlation.span, "group-by field", name, target) {
            return Err(d);
        }
    }
    let mut ctes: Vec<String> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    for (i, input) in spec.inputs.iter().enumerate() {
        let referenced = &rules[input.rule];
        if let Some(o) = referenced.output.iter().find(|o| o.name == TIME) {
            return no(
                &format!("the output `{}` of `{}`", o.name, spec.names[i]),
                "the compiled query uses that name for the event time; rename the output",
            );
        }
        // The SQL reads outputs as their text (a number as the input wrote it); the engine
        // groups and counts values as read (`200` and `200.0` are one): only strings agree.
        let text_only = input
            .keys
            .iter()
            .map(|&k| (k, "group-by field"))
            .chain(input.value.filter(|_| spec.kind == Kind::ValueCount).map(|v| (v, "value_count field")))
            .chain(input.fields.iter().map(|&f| (f, "`fields` entry")));
        for (slot, what) in text_only {
            let o = &referenced.output[slot];
            // A correlation's keys are its own inputs' strings (checked there).
            if o.expr.ty != crate::types::Type::String && referenced.correlation.is_none() {
                return no(
                    &format!("the {what} `{}` ({})", o.name, o.expr.ty),
                    "SQL would group and count its input text, the engine its value; only string fields compile",
                );
            }
        }
        let inner = format!("{prefix}r{i}_");
        if at.1 == 0 {
            return no("a chain of correlations", &format!("it holds more than {MAX_QUERIES} rule queries"));
        }
        at.1 -= 1;
        let view = referenced.correlation.is_some() && opts.views;
        if referenced.correlation.is_some() && dialect == Dialect::Spark && !view {
            // Spark 4.3 ran out of a 1 GiB heap on a two-level chain over 400 rows.
            return no(
                "a correlation over a correlation",
                "Spark's plan of the nested windows runs out of memory; compile it to pyspark (which computes each inner correlation once, as a view) or duckdb, or run it with `sigcorr run`",
            );
        }
        let Query { ctes: own, select } = if view {
            Query { ctes: Vec::new(), select: format!("SELECT * FROM {}", dialect.ident(&view_name(input.rule))) }
        } else if referenced.correlation.is_some() {
            at.0 += 1;
            let q = query(rules, input.rule, dialect, opts, &inner, true, at);
            at.0 -= 1;
            q?
        } else {
            super::refuse(referenced, target)
                .map_or_else(|| sql::query(referenced, dialect, opts, &inner, true), Err)?
        };
        ctes.extend(own);
        let name = format!("{prefix}__in{i}");
        ctes.push(format!("{} AS (\n{select}\n)", dialect.ident(&name)));
        events.push(event_select(referenced, input, spec, i, &name, dialect, opts.evidence));
    }
    let w = Window { d: dialect, keys: spec.group_by.len(), prefix, evidence: opts.evidence };
    ctes.push(format!("{} AS (\n{}\n)", w.cte("__events"), events.join("\n  UNION ALL\n")));
    ctes.extend(w.stages(spec));
    Ok(Query { ctes, select: w.alerts(spec, time) })
}

/// One referenced rule's events: its group-by outputs as `__k0`, `__k1`...,
/// its time as `__t`, its number among the inputs, and its value as text
/// (`__v`) and as a number (`__n`); with `evidence`, its positions as
/// `__ev` (`(f, l)`: file, line).
fn event_select(
    rule: &CheckedRule,
    input: &crate::correlate::Input,
    spec: &Spec,
    i: usize,
    from: &str,
    d: Dialect,
    evidence: bool,
) -> String {
    let out = |slot: usize| d.ident(&rule.output[slot].name);
    let mut cols: Vec<String> =
        input.keys.iter().enumerate().map(|(k, &slot)| format!("{} AS {}", out(slot), d.ident(&key(k)))).collect();
    cols.push(format!("{} AS {}", d.ident(TIME), d.ident("__t")));
    cols.push(format!("{i} AS {}", d.ident("__input")));
    let text = d.text_type();
    let (v, n) = match (input.value, spec.kind.needs_field()) {
        (Some(slot), true) => {
            let v = format!("NULLIF(CAST({} AS {text}), '')", out(slot));
            // A number, or a string holding one, as the engine reads it; not infinite or NaN.
            let n = d.real_from_text(&v);
            let n = d.finite(&n);
            (v, n)
        }
        _ => (format!("CAST(NULL AS {text})"), "CAST(NULL AS DOUBLE)".to_string()),
    };
    cols.push(format!("{v} AS {}", d.ident("__v")));
    cols.push(format!("{n} AS {}", d.ident("__n")));
    for (f, &slot) in input.fields.iter().enumerate() {
        cols.push(format!("{} AS {}", out(slot), d.ident(&field(f))));
    }
    if evidence {
        cols.push(format!(
            "transform({}, x -> named_struct('f', x.f, 'l', x.l)) AS {}",
            d.ident(EVIDENCE),
            d.ident("__ev")
        ));
    }
    format!("  SELECT {} FROM {} WHERE {} IS NOT NULL", cols.join(", "), d.ident(from), d.ident(TIME))
}

/// The name of a correlation alert's aggregate: `rules` for the temporal
/// types (how many referenced rules matched), else the type's name.
pub(super) fn value_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Temporal | Kind::TemporalOrdered => "rules",
        k => k.name(),
    }
}

/// How many distinct values of a `fields` entry an alert shows (the engine's
/// `MAX_EVIDENCE`).
const MAX_VALUES: usize = 100;

/// The column of `fields` entry `f` among the events.
fn field(f: usize) -> String {
    format!("__f{f}")
}

fn key(k: usize) -> String {
    format!("__k{k}")
}

/// The window and burst stages over `__events`.
struct Window<'a> {
    d: Dialect,
    keys: usize,
    /// Starts the names of its table expressions.
    prefix: &'a str,
    /// Spark only ([`super::Options::evidence`]): each alert's positions.
    evidence: bool,
}

impl Window<'_> {
    fn id(&self, name: &str) -> String {
        self.d.ident(name)
    }

    /// Table expression `name`, prefixed.
    fn cte(&self, name: &str) -> String {
        self.d.ident(&format!("{}{name}", self.prefix))
    }

    /// Table expression `name` holding `body`.
    fn stage(&self, name: &str, body: String) -> String {
        format!("{} AS (\n  {body}\n)", self.cte(name))
    }

    /// The timespan as a frame offset in ticks: at most [`MAX_SPAN`], so
    /// that a time plus or minus it cannot overflow (the engine saturates).
    fn span(&self, spec: &Spec) -> String {
        let span = spec.timespan.min(MAX_SPAN);
        match self.d {
            Dialect::DuckDb => span.to_string(),
            Dialect::Spark => format!("{span}L"),
        }
    }

    /// The group-by columns, comma-separated, each after `qualifier`.
    fn keys(&self, qualifier: &str) -> String {
        (0..self.keys).map(|k| format!("{qualifier}{}", self.id(&key(k)))).collect::<Vec<_>>().join(", ")
    }

    /// `PARTITION BY` the keys, or nothing without group-by.
    fn partition(&self) -> String {
        if self.keys == 0 { String::new() } else { format!("PARTITION BY {} ", self.keys("")) }
    }

    /// The aggregate of `kind` over the events (of a window: `over`).
    fn aggregate(&self, spec: &Spec, over: &str) -> String {
        let (d, v, n, input) = (self.d, self.id("__v"), self.id("__n"), self.id("__input"));
        let distinct = |x: &str| match d {
            Dialect::DuckDb => format!("count(DISTINCT {x}){over}"),
            Dialect::Spark => format!("size(collect_set({x}){over})"),
        };
        let percentile = |p: f64| {
            // Nearest rank, as Kusto's percentile(): the value at rank ceil(p/100 * n), at least 1.
            let rank = format!("CAST(greatest(1, ceil(CAST({} AS DOUBLE) * count({n}){over})) AS INTEGER)", p / 100.0);
            match d {
                Dialect::DuckDb => format!("list_sort(list({n}){over}, 'ASC', 'NULLS LAST')[{rank}]"),
                Dialect::Spark => format!("try_element_at(array_sort(collect_list({n}){over}), {rank})"),
            }
        };
        match spec.kind {
            Kind::EventCount => format!("count(*){over}"),
            Kind::ValueCount => distinct(&v),
            Kind::Temporal | Kind::TemporalOrdered => distinct(&input),
            Kind::ValueSum => format!("coalesce(sum({n}){over}, 0)"),
            Kind::ValueAvg => format!("avg({n}){over}"),
            Kind::ValuePercentile => percentile(spec.percentile),
            Kind::ValueMedian => percentile(50.0),
        }
    }

    /// Whether a window's aggregate `agg` meets the condition; a temporal
    /// type without one needs every referenced rule.
    fn condition(&self, spec: &Spec, agg: &str) -> String {
        if spec.condition.is_empty() {
            return format!("{agg} >= {}", spec.inputs.len());
        }
        let op = |c: Cmp| match c {
            Cmp::Gt => ">",
            Cmp::Gte => ">=",
            Cmp::Lt => "<",
            Cmp::Lte => "<=",
            Cmp::Eq => "=",
            Cmp::Neq => "<>",
        };
        let parts: Vec<String> =
            spec.condition.iter().map(|&(c, bound)| format!("{agg} {} CAST({bound:?} AS DOUBLE)", op(c))).collect();
        parts.join(" AND ")
    }

    /// Events numbered per group in time order, windows, firing windows,
    /// bursts and their spans of event numbers.
    fn stages(&self, spec: &Spec) -> Vec<String> {
        let p = self.partition();
        let keys = self.keys("");
        let comma = if self.keys == 0 { "" } else { ", " };
        let (t, i, lo, hi) = (self.id("__t"), self.id("__i"), self.id("__lo"), self.id("__hi"));
        let span = self.span(spec);
        let input = self.id("__input");
        let mut stages = vec![self.stage(
            "__ev",
            format!("SELECT *, row_number() OVER ({p}ORDER BY {t}, {input}) AS {i} FROM {}", self.cte("__events")),
        )];
        if let Some(expression) = &spec.expression {
            stages.extend(self.forward(spec, expression));
            stages.extend(self.bursts());
            return stages;
        }
        // temporal_ordered: per event of rule k, the latest time a chain of
        // one event of each rule 0..=k (in event order: time, then rule)
        // ending at it can start (`__s<k>`, the engine's `Chains`); a window
        // is in order when an event of the last rule at its time ends a
        // chain that starts inside it.
        let n = spec.inputs.len();
        let ordered = spec.kind == Kind::TemporalOrdered && n > 1;
        let mut from = "__ev".to_string();
        if ordered {
            for k in 1..n {
                let prev = if k == 1 { t.clone() } else { self.id(&format!("__s{}", k - 1)) };
                let name = format!("__o{k}");
                stages.push(self.stage(
                    &name,
                    format!(
                        "SELECT *, CASE WHEN {input} = {k} THEN max(CASE WHEN {input} = {} THEN {prev} END) OVER ({p}ORDER BY {i} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS {} FROM {}",
                        k - 1,
                        self.id(&format!("__s{k}")),
                        self.cte(&from)
                    ),
                ));
                from = name;
            }
        }
        let ok = if ordered {
            format!(
                ", max(CASE WHEN {input} = {} AND {} >= {t} - {span} THEN 1 ELSE 0 END) OVER (PARTITION BY {keys}{comma}{t}) AS {}",
                n - 1,
                self.id(&format!("__s{}", n - 1)),
                self.id("__ok")
            )
        } else {
            String::new()
        };
        let in_order = if ordered { format!(" AND {} = 1", self.id("__ok")) } else { String::new() };
        stages.extend([
            self.stage(
                "__win",
                format!(
                    "SELECT {keys}{comma}{t}, {i}, min({i}) OVER w AS {lo}, max({i}) OVER w AS {hi}, {} AS {}{ok}\n  FROM {}\n  WINDOW w AS ({p}ORDER BY {t} RANGE BETWEEN {span} PRECEDING AND CURRENT ROW)",
                    self.aggregate(spec, " OVER w"),
                    self.id("__agg"),
                    self.cte(&from)
                ),
            ),
            self.stage(
                "__fired",
                format!(
                    "SELECT * FROM {} WHERE {}{in_order}",
                    self.cte("__win"),
                    self.condition(spec, &self.id("__agg"))
                ),
            ),
        ]);
        stages.extend(self.bursts());
        stages
    }

    /// An extended condition's windows (the engine's `extended`): at each
    /// event time `t`, the events from `t` to `t + timespan`, both ends
    /// included, as `__lo`..`__hi`, with `__p<k>` events of input `k`; a
    /// window fires when the condition holds of which inputs are present
    /// (temporal_ordered: and an event of the first rule is at `t`).
    fn forward(&self, spec: &Spec, expression: &crate::correlate::Presence) -> Vec<String> {
        let p = self.partition();
        let keys = self.keys("");
        let comma = if self.keys == 0 { "" } else { ", " };
        let (t, i, lo, hi, input) =
            (self.id("__t"), self.id("__i"), self.id("__lo"), self.id("__hi"), self.id("__input"));
        let span = self.span(spec);
        let present: String = (0..spec.inputs.len())
            .map(|k| format!(", count(CASE WHEN {input} = {k} THEN 1 END) OVER w AS {}", self.id(&format!("__p{k}"))))
            .collect();
        let (anchor, anchored) = if spec.kind == Kind::TemporalOrdered {
            (
                format!(
                    ", max(CASE WHEN {input} = 0 THEN 1 ELSE 0 END) OVER (PARTITION BY {keys}{comma}{t}) AS {}",
                    self.id("__ok")
                ),
                format!(" AND {} = 1", self.id("__ok")),
            )
        } else {
            (String::new(), String::new())
        };
        vec![
            self.stage(
                "__win",
                format!(
                    "SELECT {keys}{comma}{t}, {i}, min({i}) OVER w AS {lo}, max({i}) OVER w AS {hi}{present}{anchor}\n  FROM {}\n  WINDOW w AS ({p}ORDER BY {t} RANGE BETWEEN CURRENT ROW AND {span} FOLLOWING)",
                    self.cte("__ev")
                ),
            ),
            self.stage(
                "__fired",
                format!("SELECT * FROM {} WHERE {}{anchored}", self.cte("__win"), self.presence(expression)),
            ),
        ]
    }

    /// An extended condition over the window's `__p<k>` counts.
    fn presence(&self, e: &crate::correlate::Presence) -> String {
        use crate::correlate::Presence as P;
        match e {
            P::And(a, b) => format!("({} AND {})", self.presence(a), self.presence(b)),
            P::Or(a, b) => format!("({} OR {})", self.presence(a), self.presence(b)),
            P::Not(a) => format!("(NOT {})", self.presence(a)),
            P::Rule(k) => format!("{} > 0", self.id(&format!("__p{k}"))),
        }
    }

    /// Firing windows (`__fired`: `__lo`, `__hi`) to bursts: a window that
    /// starts at or before the previous one's last event joins its burst.
    fn bursts(&self) -> Vec<String> {
        let p = self.partition();
        let keys = self.keys("");
        let comma = if self.keys == 0 { "" } else { ", " };
        let (t, i, lo, hi) = (self.id("__t"), self.id("__i"), self.id("__lo"), self.id("__hi"));
        vec![
            self.stage(
                "__marked",
                format!(
                    "SELECT *, CASE WHEN {lo} > coalesce(lag({hi}) OVER ({p}ORDER BY {t}, {i}), 0) THEN 1 ELSE 0 END AS {} FROM {}",
                    self.id("__new"),
                    self.cte("__fired")
                ),
            ),
            self.stage(
                "__bursts",
                format!(
                    "SELECT *, sum({}) OVER ({p}ORDER BY {t}, {i} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {} FROM {}",
                    self.id("__new"),
                    self.id("__burst"),
                    self.cte("__marked")
                ),
            ),
            self.stage(
                "__spans",
                format!(
                    "SELECT {keys}{comma}{b}, min({lo}) AS {lo}, max({hi}) AS {hi} FROM {} GROUP BY {keys}{comma}{b}",
                    self.cte("__bursts"),
                    b = self.id("__burst")
                ),
            ),
        ]
    }

    /// One row per burst: the group-by values, count, first and last time
    /// (as the engine prints them) and the burst's aggregate; with `time`,
    /// the last time in ticks too, as [`TIME`].
    fn alerts(&self, spec: &Spec, time: bool) -> String {
        let d = self.d;
        let (s, e) = (self.id("s"), self.id("e"));
        let on: Vec<String> = (0..self.keys)
            .map(|k| self.same(&format!("{s}.{}", self.id(&key(k))), &format!("{e}.{}", self.id(&key(k)))))
            .chain([format!(
                "{e}.{i} BETWEEN {s}.{lo} AND {s}.{hi}",
                i = self.id("__i"),
                lo = self.id("__lo"),
                hi = self.id("__hi")
            )])
            .collect();
        let on_events = on.join("\n    AND ");
        let keys = self.keys(&format!("{s}."));
        let comma = if self.keys == 0 { "" } else { ", " };
        let t = format!("{e}.{}", self.id("__t"));
        // Spark: each `fields` entry's list in the same aggregate (sorted by
        // time, then value; `array_distinct` keeps each value's first place).
        // A join per entry, as DuckDB's, makes Spark repeat the windows.
        let spark_lists: String = match d {
            Dialect::Spark => (0..spec.fields.len())
                .map(|f| {
                    let fv = format!("{e}.{}", self.id(&field(f)));
                    format!(
                        ", slice(array_distinct(transform(array_sort(collect_list(CASE WHEN {fv} IS NOT NULL THEN named_struct('t', {t}, 'v', {fv}) END)), x -> x.v)), 1, {MAX_VALUES}) AS {}",
                        self.id(&format!("__l{f}"))
                    )
                })
                .collect(),
            Dialect::DuckDb => String::new(),
        };
        // The events' positions in the engine's order (time, input, first
        // position), the first MAX_VALUES (`MAX_EVIDENCE`), each with its input.
        let evidence = if self.evidence {
            let (input, ev) = (format!("{e}.{}", self.id("__input")), format!("{e}.{}", self.id("__ev")));
            format!(
                ", slice(flatten(transform(array_sort(collect_list(named_struct('t', {t}, 'i', {input}, 'f', {ev}[0].f, 'l', {ev}[0].l, 'ev', {ev}))), x -> transform(x.ev, y -> named_struct('i', x.i, 'f', y.f, 'l', y.l)))), 1, {MAX_VALUES}) AS {}",
                self.id(EVIDENCE)
            )
        } else {
            String::new()
        };
        let inner = format!(
            "SELECT {keys}{comma}{s}.{burst} AS {burst}, count(*) AS {count}, min({t}) AS {first}, max({t}) AS {last}, {agg} AS {value}{spark_lists}{evidence}\n  FROM {spans} AS {s} JOIN {ev} AS {e}\n    ON {on}\n  GROUP BY {keys}{comma}{s}.{burst}",
            count = self.id("__count"),
            first = self.id("__first"),
            last = self.id("__last"),
            agg = self.aggregate(spec, ""),
            value = self.id("__value"),
            spans = self.cte("__spans"),
            ev = self.cte("__ev"),
            on = on_events,
            burst = self.id("__burst"),
        );
        let a = format!("{}.", self.id("a"));
        let col = |name: &str| format!("{a}{}", self.id(name));
        let mut select: Vec<String> = spec
            .group_by
            .iter()
            .enumerate()
            .map(|(k, name)| format!("{} AS {}", col(&key(k)), d.ident(name)))
            .collect();
        select.push(format!("{} AS {}", col("__count"), d.ident("count")));
        select.push(format!("{} AS {}", ticks_text(d, &col("__first")), d.ident("first")));
        select.push(format!("{} AS {}", ticks_text(d, &col("__last")), d.ident("last")));
        select.push(format!("{} AS {}", col("__value"), d.ident(value_name(spec.kind))));
        let mut joins = String::new();
        for (f, name) in spec.fields.iter().enumerate() {
            let l = self.id(&format!("__l{f}"));
            if d == Dialect::Spark {
                select.push(format!("{} AS {}", col(&format!("__l{f}")), d.ident(name)));
                continue;
            }
            let empty = match d {
                Dialect::DuckDb => "[]",
                Dialect::Spark => "array()",
            };
            select.push(format!("coalesce({l}.{}, {empty}) AS {}", self.id("__l"), d.ident(name)));
            let on: Vec<String> = (0..self.keys)
                .map(|k| self.same(&col(&key(k)), &format!("{l}.{}", self.id(&key(k)))))
                .chain([format!("{} = {l}.{}", col("__burst"), self.id("__burst"))])
                .collect();
            joins.push_str(&format!(
                "\nLEFT JOIN (\n  {}\n) AS {l}\n  ON {}",
                self.values(f, &on_events),
                on.join(" AND ")
            ));
        }
        if time {
            select.push(format!("{} AS {}", col("__last"), d.ident(TIME)));
        }
        if self.evidence {
            select.push(format!("{} AS {}", col(EVIDENCE), d.ident(EVIDENCE)));
        }
        format!(
            "SELECT\n  {}\nFROM (\n  {inner}\n) AS {}{joins}\nORDER BY {}{comma}{}",
            select.join(",\n  "),
            self.id("a"),
            col("__first"),
            self.keys(&a)
        )
    }

    /// `a` and `b` equal, nulls included (group-by values may be null).
    fn same(&self, a: &str, b: &str) -> String {
        match self.d {
            Dialect::DuckDb => format!("{a} IS NOT DISTINCT FROM {b}"),
            Dialect::Spark => format!("{a} <=> {b}"),
        }
    }

    /// Per burst, `fields` entry `f`'s distinct values ordered by their
    /// first time, then their text; the first 100 (`MAX_EVIDENCE`), as
    /// `__l`. `on` joins a burst's span (`s`) to its events (`e`).
    fn values(&self, f: usize, on: &str) -> String {
        let (d, s, e) = (self.d, self.id("s"), self.id("e"));
        let keys = self.keys(&format!("{s}."));
        let plain = self.keys("");
        let comma = if self.keys == 0 { "" } else { ", " };
        let (burst, v, ft, t) = (self.id("__burst"), self.id("__v"), self.id("__ft"), self.id("__t"));
        let fv = format!("{e}.{}", self.id(&field(f)));
        let list = match d {
            Dialect::DuckDb => format!("list_slice(list({v} ORDER BY {ft}, {v}), 1, {MAX_VALUES})"),
            Dialect::Spark => format!(
                "slice(transform(array_sort(collect_list(named_struct('t', {ft}, 'v', {v}))), x -> x.v), 1, {MAX_VALUES})"
            ),
        };
        format!(
            "SELECT {plain}{comma}{burst}, {list} AS {l}\n  FROM (SELECT {keys}{comma}{s}.{burst} AS {burst}, {fv} AS {v}, min({e}.{t}) AS {ft}\n    FROM {spans} AS {s} JOIN {ev} AS {e} ON {on}\n    WHERE {fv} IS NOT NULL\n    GROUP BY {keys}{comma}{s}.{burst}, {fv}) AS {x}\n  GROUP BY {plain}{comma}{burst}",
            l = self.id("__l"),
            spans = self.cte("__spans"),
            ev = self.cte("__ev"),
            x = self.id("x"),
        )
    }
}
